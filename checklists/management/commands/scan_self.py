"""Run releasegate's own repository scanners on releasegate's repository (a CI leg).

    python manage.py scan_self [--commit SHA] [--scanner NAME ...]

Reads the commit from the git object database, exactly as a worker reads a team's
repository, and exits non-zero if any scanner fails or errors. The production
configuration of releasegate itself is what SELF_CONFIG_GLOBS names. No path is
allowlisted: a test line that holds a fake secret says so with a `releasegate: allow`
comment, so a real secret anywhere else is still found.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from checklists.git import repo
from checklists.scans import registry
from checklists.scans.base import ScanTarget

SELF_SCANNERS = ("secrets", "mock_flag", "env_credentials", "debug_off")
# What releasegate deploys with: the compose file, its env template, gunicorn's and
# Django's settings (docs/self-check.md).
SELF_CONFIG_GLOBS = [
    "docker-compose.yml",
    ".env.example",
    "gunicorn.conf.py",
    "releasegate/settings.py",
]


def head_commit(path: Path) -> str:
    done = subprocess.run(  # noqa: S603 - fixed arguments, our own repository
        ["git", "-C", str(path), "rev-parse", "--verify", "HEAD^{commit}"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CommandError(f"{path} is not a git repository with a commit: {done.stderr.strip()}")
    return done.stdout.strip()


class Command(BaseCommand):
    help = "Run the secrets, mock_flag, env_credentials and debug_off scanners on releasegate itself."

    def add_arguments(self, parser):
        parser.add_argument("--repository", default=str(settings.BASE_DIR), help="default: this checkout")
        parser.add_argument("--commit", help="default: HEAD of the repository")
        parser.add_argument("--scanner", action="append", choices=SELF_SCANNERS, dest="scanners")

    def handle(self, *args, repository, commit, scanners, **options):
        commit = commit or head_commit(Path(repository))
        failed = []
        with tempfile.TemporaryDirectory(prefix="releasegate-scan-self-") as mirrors:
            try:
                source = repo.GitSource(str(Path(repository).resolve()), trusted_local=True)
                snapshot = repo.snapshot(source, commit, base=Path(mirrors))
            except repo.RepoError as exc:
                raise CommandError(exc.message) from exc
            for name in scanners or SELF_SCANNERS:
                target = ScanTarget(
                    repository=repository,
                    commit=commit,
                    snapshot=snapshot,
                    config_globs=SELF_CONFIG_GLOBS,
                )
                result = registry.get(name).run(target)
                files = result.summary.get("files", result.summary.get("files_scanned"))
                self.stdout.write(
                    f"{name}: {result.status} ({len(result.findings)} finding(s), files: {files})"
                )
                for finding in result.findings:
                    self.stdout.write(f"  {finding.file}:{finding.line} {finding.rule} {finding.excerpt}")
                if result.error:
                    self.stdout.write(f"  error: {result.error}")
                if result.status != "passed":
                    failed.append(name)
        if failed:
            raise CommandError(f"releasegate fails its own {', '.join(failed)} scan(s) at {commit[:12]}")
        self.stdout.write(f"releasegate passes its own scans at {commit[:12]}")
