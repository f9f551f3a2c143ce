"""`python -m checklists.scans PATH --json`: one object per finding, then a summary (issue 13, item 7)."""

import json
import subprocess
import sys
from pathlib import Path

from .helpers.git import make_repo
from .helpers.secret_corpus import ALNUM, Gen

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "checklists.scans", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_json_lines_then_a_summary_that_says_the_list_was_capped(tmp_path):
    g = Gen(77)
    tokens = ["ghp_" + g.s(ALNUM, 36) for _ in range(6)]
    files = {f"svc/client_{i}.py": f'GITHUB_TOKEN = "{t}"\n' for i, t in enumerate(tokens)}
    url, sha = make_repo(tmp_path / "r", {**files, "README.md": "# svc\n"})
    done = run_cli(url, "--json", "--max-findings", "4")
    assert done.returncode == 1, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    *findings, summary = records
    assert len(findings) == 4
    assert all(
        set(f) == {"file", "line", "rule", "excerpt"} and f["rule"] == "github-token" for f in findings
    )
    assert summary["summary"] is True and summary["commit"] == sha
    assert summary["findings_total"] == 6 and summary["findings_shown"] == 4 and summary["capped"] is True
    assert not any(t in done.stdout or t[4:20] in done.stdout for t in tokens)


def test_a_clean_repository_exits_0_with_an_uncapped_summary(tmp_path):
    url, _ = make_repo(tmp_path / "r", {"app.py": "print('hello')\n"})
    done = run_cli(url, "--json")
    assert done.returncode == 0
    [summary] = [json.loads(line) for line in done.stdout.splitlines()]
    assert summary["findings_total"] == 0 and summary["capped"] is False and summary["files_scanned"] == 1


def test_a_directory_that_is_not_a_repository_is_an_error(tmp_path):
    done = run_cli(str(tmp_path), "--json")
    assert done.returncode == 2 and "not a git repository" in done.stderr
