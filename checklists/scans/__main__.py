"""Run the secrets scanner on a repository's HEAD: `python -m checklists.scans [PATH]`.

CI runs it on releasegate itself (.ci/legs/40-secrets-self-scan.sh); exit status 1 on
findings. Findings are printed redacted, as everywhere else.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from checklists import repo
from checklists.scans import secrets
from checklists.scans.base import ScanTarget


def main(argv: list[str]) -> int:
    path = str(Path(argv[0] if argv else ".").resolve())
    sha = (
        subprocess.run(  # noqa: S603
            ["git", "rev-parse", "HEAD"],  # noqa: S607
            cwd=path,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .strip()
    )
    with tempfile.TemporaryDirectory(prefix="releasegate-selfscan-") as mirrors:
        snap = repo.snapshot(path, sha, base=Path(mirrors))
        result = secrets.run(ScanTarget(path, sha, snap))
    for finding in result.findings:
        sys.stdout.write(f"{finding.file}:{finding.line}: {finding.rule}: {finding.excerpt}\n")
    sys.stdout.write(
        f"secrets scan of {sha[:12]}: {result.status}, {result.summary['files_scanned']} files, "
        f"{len(result.findings)} finding(s)\n"
    )
    return 1 if result.findings else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
