"""Pages and API under load: gunicorn + PostgreSQL driven by wrk on loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rg_bench .venv/bin/python bench/load.py
    ... bench/load.py --duration 5 --only ceiling,gate      # a quick look
    ... bench/load.py --write after                         # also write docs/benchmarks.md

Needs the data of bench/generate_data.py and `wrk` (Debian package). Starts gunicorn
(gunicorn.conf.py, DEBUG off, workers sized for the machine unless --workers) with
bench/settings.py, which adds two trivial authenticated views, the ceiling, to
releasegate's URLs. Each scenario runs wrk for --duration seconds at --connections
clients; the ceiling runs first and last and every ratio is to their mean, so the
figures compare within one run on one machine. Bounded: scenarios x duration.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "benchmarks.md"
HOST = "127.0.0.1"

PATCH_LUA = """
local paths = {%s}
local token = "%s"
local n = 0
request = function()
  n = n + 1
  local path = paths[(n %% #paths) + 1]
  local body = '{"state": "done", "evidence": "bench ' .. n .. '"}'
  return wrk.format("PATCH", path, {["Content-Type"] = "application/json",
    ["Authorization"] = "Token " .. token}, body)
end
"""


def setup_django(database_url: str):
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def credentials() -> dict:
    """Session cookie, API token and the rows each scenario reads or writes."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from checklists.models import Release, TemplateItem
    from checklists.web.paging import encode_position

    user = User.objects.get(username="bench")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    token, _ = Token.objects.get_or_create(user=user)
    approved = Release.objects.filter(status="approved").order_by("-id").first()
    # A position deep in the newest-first history (keyset paging): the 100th page's last row.
    deep_row = Release.objects.order_by("-created_at", "-id")[min(Release.objects.count() - 1, 99_000)]
    deployed = Release.objects.filter(status="deployed").order_by("-id").first()
    drafts = list(Release.objects.filter(status="draft").order_by("-id").values_list("pk", flat=True)[:200])
    manual = list(
        TemplateItem.objects.filter(template=approved.template, satisfied_by="manual").values_list(
            "key", flat=True
        )
    )
    return {
        "cookie": f"sessionid={session.session_key}",
        "token": token.key,
        "approved": approved,
        "deployed": deployed,
        "patch_paths": [f"/api/v1/releases/{pk}/items/{key}/" for pk in drafts for key in manual],
        "releases": Release.objects.count(),
        "deep_position": encode_position(deep_row),
        "team": approved.team.slug,
    }


def scenarios(c: dict) -> list[dict]:
    session = {"Cookie": c["cookie"]}
    token = {"Authorization": f"Token {c['token']}"}
    approved, deployed = c["approved"], c["deployed"]
    deep = max(1, c["releases"] // 25 - 5)
    return [
        {"name": "ceiling", "what": "trivial view, session auth", "path": "/bench/ceiling/", "headers": session},
        {"name": "ceiling-api", "what": "trivial DRF view, token auth", "path": "/bench/ceiling-api/",
         "headers": token},
        {"name": "gate", "what": "GET gate, approved release, right commit (200)",
         "path": f"/api/v1/releases/{approved.pk}/gate/?commit={approved.commit}", "headers": token},
        {"name": "release-json", "what": "GET /api/v1/releases/{id}/ (19 items, 3 sign-offs, 10 events)",
         "path": f"/api/v1/releases/{deployed.pk}/", "headers": token},
        {"name": "release-page", "what": "release page HTML, member's view, what ships shown (deployed)",
         "path": f"/releases/{deployed.pk}/", "headers": session},
        {"name": "release-page-open", "what": "release page HTML, approved release, what ships read from production",
         "path": f"/releases/{approved.pk}/", "headers": session},
        {"name": "review-page", "what": "review page HTML (reviewer's decision view), approved release",
         "path": f"/releases/{approved.pk}/review/", "headers": session},
        {"name": "history", "what": f"history page 1 of {c['releases']:,} releases", "path": "/history/",
         "headers": session},
        {"name": "history-filtered", "what": "history, team + status + text filter",
         "path": f"/history/?team={c['team']}&status=deployed&q=Payments", "headers": session},
        {"name": "history-dates", "what": "history, date range, sorted by team",
         "path": "/history/?since=2025-06-01&until=2025-07-01&o=team", "headers": session},
        {"name": "history-deep", "what": "history, newest first, 99,000 rows deep (keyset position)",
         "path": f"/history/?after={c['deep_position']}", "headers": session},
        {"name": "history-deep-sorted", "what": f"history sorted by title, page {deep:,} (capped at 10,000 rows)",
         "path": f"/history/?o=title&page={deep}", "headers": session},
        {"name": "item-patch", "what": "PATCH an item (tick with new evidence) on 200 drafts",
         "path": "/", "headers": token, "lua": PATCH_LUA % (
             ", ".join(json.dumps(p) for p in c["patch_paths"]), c["token"])},
    ]  # fmt: skip


def start_gunicorn(args, database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": args.broker,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "BENCH_FRAGMENT_CACHE_SECONDS": str(args.fragment_cache_seconds),
        "PYTHONPATH": str(ROOT),
    }
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
        "--bind", f"{HOST}:{args.port}", "--workers", str(args.workers), "--max-requests", "0",
        "releasegate.wsgi",
    ]  # fmt: skip
    log = open(tempfile.gettempdir() + f"/bench-gunicorn-{args.port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{HOST}:{args.port}/healthz", timeout=2)  # noqa: S310
            return proc
        except urllib.error.HTTPError:
            return proc  # it answers (503 when the broker is away is fine for a benchmark)
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"gunicorn did not start; see {log.name}")


def check(port: int, scenario: dict) -> int:
    """One request first: a scenario that answers an error would measure the wrong thing."""
    if "lua" in scenario:
        return 200
    req = urllib.request.Request(f"http://{HOST}:{port}{scenario['path']}", headers=scenario["headers"])
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def millis(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(args, scenario: dict) -> dict:
    cmd = [
        "wrk",
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{args.duration}s",
        "--latency",
    ]
    for name, value in scenario["headers"].items():
        cmd += ["-H", f"{name}: {value}"]
    script = None
    if "lua" in scenario:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        script.write(scenario["lua"])
        script.close()
        cmd += ["-s", script.name]
    cmd.append(f"http://{HOST}:{args.port}{scenario['path']}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60, check=True).stdout  # noqa: S603
    if script:
        os.unlink(script.name)
    latency = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.M))
    if set(latency) != {"50", "99"}:
        raise SystemExit(f"{scenario['name']}: could not read wrk's latency distribution:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: (.*)$", out, re.M)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": millis(latency["50"]),
        "p99": millis(latency["99"]),
        "non2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sockets.group(1).strip() if sockets else "",
    }


GOALS = {
    "gate": 0.50,
    "release-json": 0.25,
    "release-page": 0.20,
    "release-page-open": 0.20,
    "review-page": 0.20,
    "history": 0.15,
    "history-filtered": 0.10,
    "history-dates": 0.10,
    "history-deep": 0.10,
}


def table(results: list[dict], ceiling: float) -> str:
    lines = [
        "| scenario | what | req/s | p50 ms | p99 ms | ratio to ceiling | goal | non-2xx |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        ratio = r["rps"] / ceiling if ceiling else 0
        goal = GOALS.get(r["name"])
        verdict = f"≥ {goal:.0%}: {'met' if ratio >= goal else '**missed**'}" if goal else ""
        if r["name"] == "gate":
            verdict += f"; p99 < 50 ms: {'met' if r['p99'] < 50 else '**missed**'}"
        lines.append(
            f"| {r['name']} | {r['what']} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {ratio:.1%} "
            f"| {verdict} | {r['non2xx']} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = ""
    with contextlib.suppress(OSError, AttributeError):
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, load average {load:.1f} at start"


def write_doc(label: str, body: str) -> None:
    begin, end = f"<!-- load:{label}:begin -->", f"<!-- load:{label}:end -->"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{begin}\n{body}\n{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--port", type=int, default=8106)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--only", default="", help="comma-separated scenario names (the ceiling always runs)")
    parser.add_argument(
        "--fragment-cache-seconds", type=int, default=60, help="0: release page fragments uncached"
    )
    parser.add_argument(
        "--write", metavar="LABEL", help="write the table into docs/benchmarks.md under LABEL"
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("needs the PostgreSQL database filled by bench/generate_data.py (DATABASE_URL)")
    if not shutil.which("wrk"):
        parser.error("needs wrk: apt-get install wrk")
    setup_django(args.database_url)
    c = credentials()
    chosen = [
        s
        for s in scenarios(c)
        if not args.only or s["name"] in args.only.split(",") or s["name"] == "ceiling"
    ]
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    host = machine()
    proc = start_gunicorn(args, args.database_url)
    results = []
    try:
        for scenario in chosen:
            status = check(args.port, scenario)
            if status != 200:
                raise SystemExit(f"{scenario['name']}: {scenario['path']} answered {status}, not 200")
        chosen.append({**chosen[0], "name": "ceiling (again)"})
        for scenario in chosen:
            result = {"name": scenario["name"], "what": scenario["what"], **run_wrk(args, scenario)}
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
            results.append(result)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ceilings = [r["rps"] for r in results if r["name"].startswith("ceiling") and "api" not in r["name"]]
    ceiling = sum(ceilings) / len(ceilings)
    body = (
        f"Run {started_at} on {host}; fragment cache {args.fragment_cache_seconds or 'off'}"
        f"{' s' if args.fragment_cache_seconds else ''}; what ships shown from stored ranges (workers read them); "
        f"gunicorn {args.workers} sync workers, wrk {args.threads} threads x "
        f"{args.connections} connections x {args.duration} s per scenario, {c['releases']:,} releases. "
        f"Ceiling (mean of first and last run): {ceiling:,.0f} req/s.\n\n" + table(results, ceiling)
    )
    sys.stdout.write(body + "\n")
    if args.write:
        write_doc(args.write, body)


if __name__ == "__main__":
    main()
