"""Secrets scan benchmark: releasegate's scanner vs the `detect-secrets scan` command, one run.

    .venv/bin/python bench/secrets_bench.py              # corpus, 20 MB tree, 5 MB adversarial lines
    .venv/bin/python bench/secrets_bench.py --large      # also 210 MB: full and incremental scans

1. The labelled corpus (tests/helpers/secret_corpus.py, fixed seed) written as a git repository:
   recall per set (provider formats alone, formats next to their name, planted secrets in
   many syntaxes) and false alarms on the negatives, for both tools on the same checkout.
2. A 2,000-file / 20 MB tree of code-like text with planted secrets: MB/s, peak RSS,
   recall and false alarms for both tools (ours reads through git, as the worker does).
3. Every rule alone on 5 MB adversarial lines built from its own keywords and prefixes.
4. With --large: a 210 MB tree scanned once, then again after a 10-file commit with the
   per-blob cache (MemoryBlobCache in the process; workers use the database one).
The results replace the scans section of docs/benchmarks.md.
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


def ours_child(repo: str, incremental: bool = False) -> None:
    """In a child process: scan HEAD of `repo` through git, print findings as JSON.

    With `incremental`, commit a 10-file change afterwards and scan again with the same cache.
    """
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasegate.settings")
    from checklists.git import repo as repo_mod
    from checklists.scans import secrets
    from checklists.scans.base import ScanTarget
    from checklists.scans.secretscan.cache import MemoryBlobCache

    sha = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=repo).decode().strip()
    mirrors = Path(tempfile.mkdtemp(prefix="bench-mirrors-"))
    cache = MemoryBlobCache()
    start = time.perf_counter()
    source = repo_mod.GitSource(str(Path(repo).resolve()), trusted_local=True)
    repo_mod.ensure_commit(source, sha, base=mirrors)  # the first fetch into a new mirror
    fetched = time.perf_counter()
    snap = repo_mod.snapshot(source, sha, base=mirrors, max_total_bytes=10**12)
    result = secrets.run(ScanTarget(repo, sha, snap, secrets_cache=cache, options={"max_findings": 10**6}))
    scanned = time.perf_counter()
    out = {
        "findings": [[f.file, f.line, f.rule] for f in result.findings],
        "fetch": fetched - start,
        "scan": scanned - fetched,
    }
    if incremental:
        out["incremental"] = rescan_after_change(repo, mirrors, cache)
    shutil.rmtree(mirrors, ignore_errors=True)
    print(json.dumps(out))


def rescan_after_change(repo: str, mirrors: Path, cache) -> dict:
    from checklists.git import repo as repo_mod
    from checklists.scans import secrets
    from checklists.scans.base import ScanTarget

    tracked = subprocess.check_output(["git", "ls-files"], cwd=repo).decode().split()
    for name in tracked[:10]:
        with open(Path(repo) / name, "a") as handle:
            handle.write("# changed\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    ident = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", *ident, "commit", "-qam", "ten files"], cwd=repo, env=env, check=True)
    sha = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=repo).decode().strip()
    source = repo_mod.GitSource(str(Path(repo).resolve()), trusted_local=True)
    start = time.perf_counter()
    repo_mod.ensure_commit(source, sha, base=mirrors)
    fetched = time.perf_counter()
    snap = repo_mod.snapshot(source, sha, base=mirrors, max_total_bytes=10**12)
    listed = time.perf_counter()
    result = secrets.run(ScanTarget(repo, sha, snap, secrets_cache=cache))
    done = time.perf_counter()
    return {
        "fetch": fetched - start,
        "list": listed - fetched,
        "scan": done - listed,
        "files_scanned": result.summary["files_scanned"],
        "files_from_cache": result.summary["files_from_cache"],
    }


def score(found: set[tuple[str, int]], planted: list[tuple[str, int, str]]) -> tuple[int, int]:
    labels = {(f, line) for f, line, _ in planted}
    # A multi-line private key counts where its block is; detect-secrets reports the header line too.
    hits = sum(1 for label in labels if label in found)
    return hits, len(found - labels)


def run_ours(root: Path, incremental: bool = False) -> dict:
    args = [sys.executable, __file__, "--ours-child", str(root)] + (["--incremental"] if incremental else [])
    seconds, rss, out = timed(args)
    data = json.loads(out)
    found = {(f, line) for f, line, _ in data["findings"]}
    return {
        "seconds": seconds,
        "fetch": data["fetch"],
        "scan": data["scan"],
        "rss_mb": rss,
        "found": found,
        "incremental": data.get("incremental"),
    }


def run_detect_secrets(root: Path) -> dict:
    exe = Path(sys.executable).with_name("detect-secrets")
    seconds, rss, out = timed([str(exe), "scan", "--all-files"], cwd=root)
    results = json.loads(out)["results"]
    found = {(name, item["line_number"]) for name, items in results.items() for item in items}
    return {"seconds": seconds, "rss_mb": rss, "found": found}


def tree_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    return len(files), sum(p.stat().st_size for p in files)


def bench(files: int, mb: float, with_detect_secrets: bool, incremental: bool = False) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"secrets-bench-{int(mb)}mb-"))
    try:
        planted = generate(root, files, mb)
        count, size = tree_size(root)
        row = {"files": count, "mb": size / 1e6, "planted": len(planted)}
        ours = run_ours(root, incremental=incremental)
        row["ours"] = {
            "seconds": ours["seconds"],
            "fetch": ours["fetch"],
            "scan": ours["scan"],
            "rss_mb": ours["rss_mb"],
            "mbps": size / 1e6 / ours["scan"],
        }
        row["ours"]["recall"], row["ours"]["false_alarms"] = score(ours["found"], planted)
        row["incremental"] = ours["incremental"]
        if with_detect_secrets:
            ds = run_detect_secrets(root)
            row["ds"] = {"seconds": ds["seconds"], "rss_mb": ds["rss_mb"], "mbps": size / 1e6 / ds["seconds"]}
            row["ds"]["recall"], row["ds"]["false_alarms"] = score(ds["found"], planted)
        return row
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_corpus() -> dict:
    """Recall per set and false alarms on the labelled corpus, both tools on one checkout."""
    sys.path.insert(0, str(ROOT))
    from tests.helpers.secret_corpus import corpus

    samples = corpus()
    root = Path(tempfile.mkdtemp(prefix="secrets-corpus-"))
    try:
        for sample in samples:
            target = root / sample.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(sample.text)
        env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
        ident = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*ident, "commit", "-q", "-m", "corpus"]):
            subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
        tools = {"ours": run_ours(root)["found"], "ds": run_detect_secrets(root)["found"]}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out: dict = {}
    for name, found in tools.items():
        files_with_findings = {f for f, _ in found}
        sets: dict = {}
        for sample in samples:
            hit_sets = sets.setdefault(sample.set, [0, 0])
            hit_sets[1] += 1
            if sample.set == "negatives":
                hit_sets[0] += sample.path in files_with_findings
            else:
                hit_sets[0] += (sample.path, sample.line) in found
        out[name] = sets
    return out


def bench_adversarial(mb: int = 5) -> list[tuple[str, float]]:
    """The slowest adversarial line of each rule alone, at `mb` MB (the unit test does 1 MB)."""
    sys.path.insert(0, str(ROOT))
    from checklists.scans.secretscan import engine, rules
    from tests import test_scan_secrets_linear as linear

    linear.MB = mb * 1024 * 1024
    worst = []
    for rule in rules.load_rules().rules:
        rule_set = linear.only(rule)
        slowest = 0.0
        for line in linear.adversarial_lines(rule):
            start = time.perf_counter()
            engine.scan_blob("adversarial.txt", line, rule_set)
            slowest = max(slowest, time.perf_counter() - start)
        worst.append((rule.id, slowest))
    start = time.perf_counter()
    engine.scan_blob("a.js", b"eyJ-" * (mb * 1024 * 1024 // 4), rules.load_rules())
    worst.append(("all rules: eyJ- line (the old ReDoS)", time.perf_counter() - start))
    return sorted(worst, key=lambda x: -x[1])


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _pct(hit: int, total: int) -> str:
    return f"{hit}/{total} ({100 * hit / total:.0f} %)" if total else "-"


def render(rows: list[dict], corpus_rows: dict, adversarial: list, command: str) -> str:
    out = [
        BEGIN,
        "## Secrets scan (`bench/secrets_bench.py`)",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {machine()} (shared with other jobs while measured)",
        f"- command: `{command}`",
        "- ours: `checklists.scans.secrets` reading through git (`ls-tree` + one `cat-file --batch`), in its "
        "own process; detect-secrets 1.5.0: `detect-secrets scan --all-files` on the same checkout.",
        "",
        "### Labelled corpus (`tests/helpers/secret_corpus.py`, seed 20261130)",
        "",
        "Found = a finding on the labelled line; false alarm = a negative file with any finding.",
        "",
        "| set | releasegate | detect-secrets |",
        "|---|---:|---:|",
    ]
    names = {
        "formats": 'provider tokens alone, `value = "<token>"`',
        "contextual": "formats without a prefix, next to the provider's name",
        "syntaxes": "planted secrets in 47 syntaxes",
        "negatives": "false alarms on negatives (placeholders, examples, public keys, lock files, baselines, code)",
    }
    for key, label in names.items():
        ours, ds = corpus_rows["ours"].get(key, [0, 0]), corpus_rows["ds"].get(key, [0, 0])
        out.append(f"| {label} | {_pct(*ours)} | {_pct(*ds)} |")
    out += [
        "",
        "### Speed, memory and recall on a generated tree",
        "",
        "Recall: planted secrets (labelled file and line) found; false alarms: findings on any other line.",
        "",
        "| tree | tool | scan s (read + detect) | MB/s | first fetch s | whole process s | recall | false alarms | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        tree = f"{row['files']} files / {row['mb']:.0f} MB"
        for key, name in (("ours", "releasegate"), ("ds", "detect-secrets scan")):
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
        inc = row.get("incremental")
        if inc:
            out.append(
                f"| {tree}, after a 10-file commit | releasegate, per-blob cache | {inc['scan']:.2f} | | "
                f"{inc['fetch']:.1f} | list {inc['list']:.2f} | {inc['files_scanned']} blobs read, "
                f"{inc['files_from_cache']} from the cache | | |"
            )
    out += [
        "",
        "### Adversarial lines, each rule alone (5 MB)",
        "",
        "| slowest rules | seconds |",
        "|---|---:|",
    ]
    out += [f"| {rule} | {seconds:.2f} |" for rule, seconds in adversarial[:6]]
    out += [
        f"| every other rule ({len(adversarial) - 6}) | < {adversarial[6][1]:.2f} |"
        if len(adversarial) > 6
        else ""
    ]
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
    parser.add_argument("--incremental", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--large", action="store_true", help="also a 210 MB / 20,000 file tree (ours only)")
    parser.add_argument(
        "--large-with-detect-secrets", action="store_true", help="run detect-secrets on 210 MB too"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if args.ours_child:
        ours_child(args.ours_child, incremental=args.incremental)
        return
    corpus_rows = bench_corpus()
    print(json.dumps(corpus_rows, indent=1))
    adversarial = bench_adversarial()
    print(adversarial[:8])
    rows = [bench(2000, 20, with_detect_secrets=True)]
    print(json.dumps(rows[-1], indent=1, default=str))
    if args.large or args.large_with_detect_secrets:
        rows.append(bench(20000, 200, with_detect_secrets=args.large_with_detect_secrets, incremental=True))
        print(json.dumps(rows[-1], indent=1, default=str))
    command = "python bench/secrets_bench.py" + (" --large" if args.large else "")
    section = render(rows, corpus_rows, adversarial, command)
    print(section)
    if not args.no_write:
        write_doc(section)


if __name__ == "__main__":
    main()
