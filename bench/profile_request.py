"""Where one request's time goes: SQL versus Python, and the functions that dominate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rg_bench .venv/bin/python bench/profile_request.py gate
    ... bench/profile_request.py release-page --repeat 200 --top 25

Runs the request in-process through Django's test client (the same middleware, session or
token authentication and database as bench/load.py, no network and no gunicorn), first once
to warm caches, then --repeat times under cProfile. Prints the mean time per request, the
share spent waiting on SQL, the queries of one request with their times, and the functions
with the most cumulative time. The scenarios are bench/load.py's.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "scenario", help="a bench/load.py scenario name (gate, release-json, release-page, ...)"
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("needs the PostgreSQL database filled by bench/generate_data.py (DATABASE_URL)")
    os.environ["DEBUG"] = "false"
    from load import credentials, scenarios, setup_django

    setup_django(args.database_url)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    chosen = {s["name"]: s for s in scenarios(credentials())}.get(args.scenario)
    if chosen is None or "lua" in chosen:
        parser.error(f"unknown or unsupported scenario {args.scenario!r}")
    headers = {}
    for name, value in chosen["headers"].items():
        if name == "Cookie":
            headers["HTTP_COOKIE"] = value
        else:
            headers["HTTP_" + name.upper().replace("-", "_")] = value
    client = Client(HTTP_HOST="127.0.0.1", **headers)
    status = client.get(chosen["path"]).status_code
    if status != 200:
        raise SystemExit(f"{chosen['path']} answered {status}, not 200")
    with CaptureQueriesContext(connection) as queries:
        client.get(chosen["path"])
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(args.repeat):
        client.get(chosen["path"])
    profiler.disable()
    per_request = (time.perf_counter() - started) * 1000 / args.repeat
    out = sys.stdout
    out.write(f"{args.scenario}: {chosen['path']}\n{per_request:.2f} ms per request (profiled), ")
    out.write(f"{len(queries.captured_queries)} queries, {sql_ms:.2f} ms in SQL (one unprofiled request)\n\n")
    for q in queries.captured_queries:
        out.write(f"  {float(q['time']) * 1000:6.2f} ms  {q['sql'][:150]}\n")
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats(
        os.environ.get("PROFILE_SORT", "cumulative")
    ).print_stats(args.top)
    out.write("\n" + stream.getvalue())


if __name__ == "__main__":
    main()
