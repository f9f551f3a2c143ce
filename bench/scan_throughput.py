"""Scans end to end with real workers: request-to-ticked-item latency and 200 queued scans on 2 workers.

    .venv/bin/python bench/scan_throughput.py                  # scratch DB rg_proof, Redis db 9
    ... bench/scan_throughput.py --write                       # also write docs/benchmarks.md

Empties releasegate's tables in the scratch database (--database-url), makes a clean demo
repository, starts two `celery -A releasegate worker --concurrency 1` processes on the
broker (--broker; purged first), then:

1. latency: with the workers idle, one `secrets` scan at a time, from `request_scans`
   (commit of the request) to the item being `done` in the database, 10 times;
2. throughput: 50 releases x the 4 repository scanners = 200 scans requested at once,
   until every run is final.

Bounded: each phase gives up after --timeout seconds. The workers are stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "benchmarks.md"
SCANNERS = ["secrets", "mock_flag", "env_credentials", "debug_off"]
TABLES = [
    "checklists_auditevent", "checklists_signoff", "checklists_checklistitem", "checklists_scanrun",
    "checklists_release", "checklists_membership", "checklists_team",
]  # fmt: skip


def setup_django(database_url: str, broker: str) -> None:
    os.environ.update(DATABASE_URL=database_url, CELERY_BROKER_URL=broker, DEBUG="false")
    os.environ["DJANGO_SETTINGS_MODULE"] = "releasegate.settings"
    import django

    django.setup()


def start_worker(name: str, env: dict, tmp: Path) -> subprocess.Popen:
    log = tmp / f"worker-{name}.log"
    cmd = [sys.executable, "-m", "celery", "-A", "releasegate", "worker", "--loglevel", "WARNING",
           "--concurrency", "1", "-n", f"{name}@%h"]  # fmt: skip
    proc = subprocess.Popen(  # noqa: S603
        cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    proc.log = log
    return proc


def wait_until(predicate, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise SystemExit(f"gave up after {timeout} s waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/rg_proof")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    setup_django(args.database_url, args.broker)

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection

    from checklists import workflow
    from checklists.models import ChecklistItem, Membership, ScanRun, Team
    from checklists.scans.demo import make_demo_repository
    from releasegate.celery import app

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM auth_user WHERE username LIKE 'scanbench%%'")
    app.control.purge()
    tmp = Path(tempfile.mkdtemp(prefix="rg-scanbench-"))
    url, sha = make_demo_repository(tmp / "repo")
    author = User.objects.create(username="scanbench-author")
    team = Team.objects.create(name="Scan bench", slug="scan-bench", owner=author)
    Membership.objects.create(team=team, user=author)
    env = {**os.environ, "RELEASEGATE_DATA_DIR": str(tmp / "data"), "PYTHONPATH": str(ROOT)}
    workers = [start_worker(f"scanbench{n}", env, tmp) for n in (1, 2)]
    try:
        for worker in workers:
            wait_until(lambda w=worker: b"ready" in w.log.read_bytes(), 60, "a worker", interval=0.2)
        data = {"title": "scan bench", "repository": url, "commit": sha, "rollback_plan": "redeploy"}

        # 1. latency: one scan at a time on idle workers (the first also fills the mirror).
        latencies = []
        for n in range(11):
            release = workflow.create_release(actor=author, team=team, data={**data, "title": f"latency {n}"})
            started = time.monotonic()
            workflow.request_scans(release, actor=author, scanners=["secrets"])
            item = ChecklistItem.objects.filter(release=release, satisfied_by="scan:secrets")
            wait_until(lambda item=item: item.get().state == "done", args.timeout, "the ticked item")
            latencies.append(time.monotonic() - started)
        first, rest = latencies[0], latencies[1:]

        # 2. throughput: 200 scans requested at once.
        releases = [
            workflow.create_release(actor=author, team=team, data={**data, "title": f"bulk {n}"})
            for n in range(50)
        ]
        started = time.monotonic()
        for release in releases:
            workflow.request_scans(release, actor=author, scanners=SCANNERS)
        runs = ScanRun.objects.filter(release__in=releases)
        wait_until(lambda: runs.exclude(status__in=ScanRun.FINAL).count() == 0 and runs.count() == 200,
                   args.timeout, "200 scans", interval=0.2)  # fmt: skip
        elapsed = time.monotonic() - started
        passed = runs.filter(status="passed").count()
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"Run {stamp}, load average {os.getloadavg()[0]:.1f} at the end; 2 worker processes "
        "(`--concurrency 1` each), Redis broker, PostgreSQL, a clean demo repository (6 files).\n\n"
        "| measure | value |\n|---|---:|\n"
        f"| request to ticked item, first scan of the repository (mirror fetch) | {first * 1000:.0f} ms |\n"
        f"| request to ticked item, median of 10 | {statistics.median(rest) * 1000:.0f} ms |\n"
        f"| request to ticked item, worst of 10 | {max(rest) * 1000:.0f} ms |\n"
        f"| 200 queued scans (50 releases x 4 scanners), 2 workers | {elapsed:.1f} s |\n"
        f"| throughput | {200 / elapsed:.1f} scans/s |\n"
        f"| passed | {passed} / 200 |"
    )
    sys.stdout.write(body + "\n")
    if args.write:
        begin, end = "<!-- scan-throughput:begin -->", "<!-- scan-throughput:end -->"
        text = DOC.read_text()
        block = f"{begin}\n{body}\n{end}"
        if begin in text:
            text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
        else:
            heading = "## Scans end to end with real workers (`bench/scan_throughput.py`)\n\n"
            marker = "## Data at scale"
            text = text.replace(marker, heading + block + "\n\n" + marker, 1)
        DOC.write_text(text)


if __name__ == "__main__":
    main()
