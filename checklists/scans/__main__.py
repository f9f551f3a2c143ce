"""Run the secrets scanner on any git repository's HEAD.

    python -m checklists.scans [PATH] [--json] [--max-findings N]

Reads the committed tree through git plumbing, exactly as a worker does (no checkout).
Text output: one `file:line: rule: excerpt` line per finding, then a summary line. With
--json: one JSON object per finding (file, line, rule, excerpt) then one summary object
(`"summary": true`) that says how many findings there were in all and whether the list was
capped. Excerpts are redacted everywhere. Exit status: 0 clean, 1 findings, 2 error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from checklists.git import repo
from checklists.scans import secrets
from checklists.scans.base import ScanTarget


def head_commit(path: str) -> str:
    done = subprocess.run(  # noqa: S603
        ["git", "-C", path, "rev-parse", "--verify", "HEAD^{commit}"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise repo.RepoError(f"{path} is not a git repository with a commit.")
    return done.stdout.strip()


def scan(path: str, max_findings: int) -> tuple[str, secrets.ScanResult]:
    sha = head_commit(path)
    with tempfile.TemporaryDirectory(prefix="releasegate-selfscan-") as mirrors:
        # An operator's command on a path they named: trusted, whatever the installation allows.
        source = repo.GitSource(os.path.abspath(path), trusted_local=True)
        snap = repo.snapshot(source, sha, base=Path(mirrors), max_total_bytes=10**12)
        result = secrets.run(ScanTarget(path, sha, snap, options={"max_findings": max_findings}))
    return sha, result


def summary(sha: str, result: secrets.ScanResult) -> dict:
    total = result.summary.get("findings_total", len(result.findings))
    return {
        "summary": True,
        "commit": sha,
        "status": result.status,
        "files_scanned": result.summary.get("files_scanned", 0),
        "bytes_scanned": result.summary.get("bytes_scanned", 0),
        "rules_version": result.summary.get("rules_version", ""),
        "findings_total": total,
        "findings_shown": len(result.findings),
        "capped": total > len(result.findings),
        "skipped": {reason: v["count"] for reason, v in result.summary.get("skipped", {}).items()},
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m checklists.scans", description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=".")
    parser.add_argument("--json", action="store_true", help="JSON lines: findings, then a summary object")
    parser.add_argument(
        "--max-findings", type=int, default=secrets.MAX_FINDINGS, help="cap on findings listed"
    )
    args = parser.parse_args(argv)
    try:
        sha, result = scan(str(Path(args.path).resolve()), max(1, args.max_findings))
    except repo.RepoError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return 2
    tail = summary(sha, result)
    for finding in result.findings:
        if args.json:
            record = {
                "file": finding.file,
                "line": finding.line,
                "rule": finding.rule,
                "excerpt": finding.excerpt,
            }
            sys.stdout.write(json.dumps(record) + "\n")
        else:
            sys.stdout.write(f"{finding.file}:{finding.line}: {finding.rule}: {finding.excerpt}\n")
    if args.json:
        sys.stdout.write(json.dumps(tail) + "\n")
    else:
        capped = f" (showing {tail['findings_shown']}: capped)" if tail["capped"] else ""
        sys.stdout.write(
            f"secrets scan of {sha[:12]}: {result.status}, {tail['files_scanned']} files, "
            f"{tail['findings_total']} finding(s){capped}\n"
        )
    return 1 if result.findings else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
