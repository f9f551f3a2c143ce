"""Secrets scan benchmark: releasegate's rule set vs the `detect-secrets scan` command.

    .venv/bin/python bench/secrets_bench.py              # 2,000 files / 20 MB, both tools
    .venv/bin/python bench/secrets_bench.py --large      # also a 200 MB tree (ours only: RSS)

Generates a git repository of code-like text with labelled planted secrets, times both
scanners on the same files (ours reads through git, as the worker does), counts recall
on the planted set and false alarms elsewhere, records peak RSS, and writes the result
into the scans section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- scans:begin -->", "<!-- scans:end -->"
ALNUM = string.ascii_letters + string.digits
rng = random.Random(20261126)


def tok(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def jwt() -> str:
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(f'{{"sub":"{tok(ALNUM, 10)}"}}'.encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{tok(ALNUM + '-_', 43)}"


# (kind, file suffix, line template) — {s} is the secret
PLANTS = [
    (
        "aws-access-key-id",
        ".py",
        lambda: f'AWS_ACCESS_KEY_ID = "AKIA{tok(string.ascii_uppercase + "234567", 16)}"',
    ),
    ("aws-secret", ".py", lambda: f'aws_secret_access_key = "{tok(ALNUM + "/+", 40)}"'),
    ("github-token", ".yml", lambda: f"  GH_TOKEN: ghp_{tok(ALNUM, 36)}"),
    ("gitlab-token", ".sh", lambda: f"export CI_PUSH_TOKEN=glpat-{tok(ALNUM, 20)}"),
    (
        "slack-token",
        ".js",
        lambda: f"const slack = new WebClient('xoxb-{tok(string.digits, 12)}-{tok(ALNUM, 24)}');",
    ),
    ("stripe-key", ".rb", lambda: f"Stripe.api_key = 'sk_live_{tok(ALNUM, 24)}'"),
    ("google-api-key", ".js", lambda: f"const MAPS_KEY = 'AIza{tok(ALNUM + '_-', 35)}';"),
    ("private-key", ".pem", lambda: "-----BEGIN RSA PRIVATE KEY-----"),  # releasegate: allow
    ("jwt", ".py", lambda: f'SERVICE_JWT = "{jwt()}"'),
    ("dotenv-password", ".env", lambda: f"DB_PASSWORD={tok(ALNUM, 16)}"),
    ("yaml-password", ".yml", lambda: f"  password: {tok(ALNUM, 14)}"),
    ("url-password", ".py", lambda: f'BROKER = "amqp://svc:{tok(ALNUM, 14)}@mq.internal:5672/"'),
]

WORDS = [
    "user",
    "order",
    "refund",
    "amount",
    "ledger",
    "account",
    "payment",
    "invoice",
    "session",
    "cache",
    "client",
    "retry",
    "status",
]


def code_line(ext: str) -> str:
    w = rng.choice(WORDS)
    w2 = rng.choice(WORDS)
    choices = {
        ".py": [
            f"def {w}_{w2}(request, {w}_id: int) -> dict:",
            f"    {w} = {w2.capitalize()}.objects.get(pk={w}_id)",
            '    password = request.POST.get("password", "")',
            f"    token = make_token({w}, ttl={rng.randint(60, 3600)})",
            f'    checksum = "{uuid.uuid4().hex}"',
            f'    logger.info("{w} %s updated", {w}.pk)',
            f"    return {{'{w}': {w}.{w2}, 'ok': True}}",
            'SECRET_KEY = os.environ["SECRET_KEY"]',
            f"# {w} {w2} handling, see docs/{w}.md",
        ],
        ".js": [
            f"export function {w}{w2.capitalize()}({w}) {{",
            f"  const token = await getToken('{w}');",
            f"  return fetch(`/api/{w}/${{{w}.id}}`, {{ headers: {{ Authorization: `Bearer ${{token}}` }} }});",
            f"  const id = '{uuid.uuid4()}';",
            "}",
        ],
        ".yml": [
            f"{w}:",
            f"  {w2}: {rng.randint(1, 999)}",
            f"  image: registry.local/{w}:{rng.randint(1, 9)}.{rng.randint(0, 20)}",
            f"  digest: sha256:{uuid.uuid4().hex}{uuid.uuid4().hex}",
            "  password: ${DB_PASSWORD}",
        ],
        ".md": [
            f"The {w} {w2} flow retries three times before it gives up.",
            f"- `{w}_{w2}`: see the runbook.",
            "",
        ],
        ".json": [
            f'  "{w}": "{w2}",',
            f'  "{w}_id": {rng.randint(1, 10**6)},',
            f'  "etag": "{uuid.uuid4().hex}",',
        ],
    }
    return rng.choice(choices.get(ext, choices[".md"]))


def generate(root: Path, files: int, total_mb: float) -> list[tuple[str, int, str]]:
    """Write the tree; return the planted (file, line, kind)."""
    per_file = int(total_mb * 1024 * 1024 / files)
    exts = [".py", ".py", ".js", ".yml", ".md", ".json"]
    planted = []
    plant_every = max(1, files // 120)
    for i in range(files):
        ext = rng.choice(exts)
        lines, size = [], 0
        while size < per_file:
            line = code_line(ext)
            lines.append(line)
            size += len(line) + 1
        path = f"svc{i % 20}/pkg{i % 7}/module_{i}{ext}"
        if i % plant_every == 0:
            kind, suffix, make = PLANTS[(i // plant_every) % len(PLANTS)]
            path = f"svc{i % 20}/pkg{i % 7}/planted_{i}{suffix}"
            at = rng.randrange(len(lines))
            lines.insert(at, make())
            if kind == "private-key":
                lines[at + 1 : at + 1] = [tok(ALNUM + "+/", 64) for _ in range(5)] + [
                    "-----END RSA PRIVATE KEY-----"
                ]
            planted.append((path, at + 1, kind))
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    ident = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*ident, "commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return planted


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, bytes]:
    """Run a command; return (seconds, peak RSS in MB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss // 1024, out


def ours_child(repo: str) -> None:
    """In a child process: scan HEAD of `repo` through git, print findings as JSON."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasegate.settings")
    from checklists import repo as repo_mod
    from checklists.scans import secrets
    from checklists.scans.base import ScanTarget

    sha = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=repo).decode().strip()
    mirrors = Path(tempfile.mkdtemp(prefix="bench-mirrors-"))
    start = time.perf_counter()
    repo_mod.ensure_commit(repo, sha, base=mirrors)  # the first fetch into a new mirror
    fetched = time.perf_counter()
    snap = repo_mod.snapshot(repo, sha, base=mirrors, max_total_bytes=10**10)
    result = secrets.run(ScanTarget(repo, sha, snap))
    scanned = time.perf_counter()
    shutil.rmtree(mirrors, ignore_errors=True)
    findings = [[f.file, f.line, f.rule] for f in result.findings]
    print(json.dumps({"findings": findings, "fetch": fetched - start, "scan": scanned - fetched}))


def score(found: set[tuple[str, int]], planted: list[tuple[str, int, str]]) -> tuple[int, int]:
    labels = {(f, line) for f, line, _ in planted}
    # A multi-line private key counts where its block is; detect-secrets reports the header line too.
    hits = sum(1 for label in labels if label in found)
    return hits, len(found - labels)


def run_ours(root: Path) -> dict:
    seconds, rss, out = timed([sys.executable, __file__, "--ours-child", str(root)])
    data = json.loads(out)
    found = {(f, line) for f, line, _ in data["findings"]}
    return {"seconds": seconds, "fetch": data["fetch"], "scan": data["scan"], "rss_mb": rss, "found": found}


def run_detect_secrets(root: Path) -> dict:
    exe = Path(sys.executable).with_name("detect-secrets")
    seconds, rss, out = timed([str(exe), "scan", "--all-files"], cwd=root)
    results = json.loads(out)["results"]
    found = {(name, item["line_number"]) for name, items in results.items() for item in items}
    return {"seconds": seconds, "rss_mb": rss, "found": found}


def tree_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    return len(files), sum(p.stat().st_size for p in files)


def bench(files: int, mb: float, with_detect_secrets: bool) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"secrets-bench-{int(mb)}mb-"))
    try:
        planted = generate(root, files, mb)
        count, size = tree_size(root)
        row = {"files": count, "mb": size / 1e6, "planted": len(planted)}
        ours = run_ours(root)
        row["ours"] = {
            "seconds": ours["seconds"],
            "fetch": ours["fetch"],
            "scan": ours["scan"],
            "rss_mb": ours["rss_mb"],
            "mbps": size / 1e6 / ours["scan"],
        }
        row["ours"]["recall"], row["ours"]["false_alarms"] = score(ours["found"], planted)
        if with_detect_secrets:
            ds = run_detect_secrets(root)
            row["ds"] = {"seconds": ds["seconds"], "rss_mb": ds["rss_mb"], "mbps": size / 1e6 / ds["seconds"]}
            row["ds"]["recall"], row["ds"]["false_alarms"] = score(ds["found"], planted)
        return row
    finally:
        shutil.rmtree(root, ignore_errors=True)


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def render(rows: list[dict], command: str) -> str:
    out = [
        BEGIN,
        "## Secrets scan (`bench/secrets_bench.py`)",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {machine()} (shared with other jobs while measured)",
        f"- command: `{command}`",
        "- ours: `checklists.scans.secrets` reading through git (`ls-tree` + one `cat-file --batch`), in its "
        "own process; detect-secrets 1.5.0: `detect-secrets scan --all-files` on the same checkout.",
        "- recall: planted secrets (labelled file and line) found; false alarms: findings on any other line.",
        "",
        "| tree | tool | scan s (read + detect) | MB/s | first fetch s | whole process s | recall | false alarms | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        tree = f"{row['files']} files / {row['mb']:.0f} MB"
        for key, name in (("ours", "releasegate rules"), ("ds", "detect-secrets scan")):
            if key in row:
                r = row[key]
                scan = r.get("scan", r["seconds"])
                fetch = f"{r['fetch']:.1f}" if "fetch" in r else "-"
                out.append(
                    f"| {tree} | {name} | {scan:.1f} | {r['mbps']:.1f} | {fetch} | {r['seconds']:.1f} | "
                    f"{r['recall']}/{row['planted']} | {r['false_alarms']} | {r['rss_mb']} MB |"
                )
        if "ds" in row:
            ours, ds = row["ours"], row["ds"]
            out.append(
                f"| | speed-up | {ds['seconds'] / ours['scan']:.0f}x on the scan, "
                f"{ds['seconds'] / ours['seconds']:.0f}x whole process | | | | | | |"
            )
    out += ["", END]
    return "\n".join(out)


def write_doc(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours-child", help=argparse.SUPPRESS)
    parser.add_argument("--large", action="store_true", help="also a 200 MB / 20,000 file tree (ours only)")
    parser.add_argument(
        "--large-with-detect-secrets", action="store_true", help="run detect-secrets on 200 MB too"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if args.ours_child:
        ours_child(args.ours_child)
        return
    rows = [bench(2000, 20, with_detect_secrets=True)]
    print(json.dumps(rows[-1], indent=1))
    if args.large or args.large_with_detect_secrets:
        rows.append(bench(20000, 200, with_detect_secrets=args.large_with_detect_secrets))
        print(json.dumps(rows[-1], indent=1))
    command = "python bench/secrets_bench.py" + (" --large" if args.large else "")
    section = render(rows, command)
    print(section)
    if not args.no_write:
        write_doc(section)


if __name__ == "__main__":
    main()
