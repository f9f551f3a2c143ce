"""Small git repositories for demo data and tests: one clean, one with planted problems.

The planted secrets are generated at run time in each vendor's public format, so no
secret-shaped string lives in releasegate's own repository.
"""

from __future__ import annotations

import secrets
import string
import subprocess
from pathlib import Path

from checklists.git.repo import git_env

ALNUM = string.ascii_letters + string.digits

CLEAN_FILES = {
    "README.md": "# payments-api\n\nRefunds and payouts.\n",
    "app/__init__.py": "",
    "app/refunds.py": (
        "import os\n\n\ndef gateway_key():\n    return os.environ['GATEWAY_KEY']\n\n\n"
        "def refund(amount_cents: int) -> int:\n    return max(0, amount_cents)\n"
    ),
    "config/.env.production": "DEBUG=false\nPAYMENTS_MOCK=false\nDB_PASSWORD=${DB_PASSWORD}\nLOG_LEVEL=info\n",
    "config/app.prod.yaml": "logging:\n  level: INFO\ngateway:\n  sandbox: false\n  api_key: ${GATEWAY_KEY}\n",
    "settings/production.py": (
        "import os\n\nDEBUG = False\nSECRET_KEY = os.environ['SECRET_KEY']\n"
        "EMAIL_HOST_PASSWORD = os.environ.get('EMAIL_PASSWORD', '')\n"
    ),
}


def _token(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def problem_files() -> dict[str, str]:
    """Planted problems for all four repository scanners, each in a file of its own kind."""
    aws_key = "AKIA" + _token(string.ascii_uppercase + "234567", 16)
    github = "ghp_" + _token(ALNUM, 36)
    password = _token(ALNUM, 14)
    return {
        "app/gateway_client.py": f'AWS_ACCESS_KEY_ID = "{aws_key}"\nGITHUB_TOKEN = "{github}"\n',
        "config/.env.production": f"DEBUG=true\nPAYMENTS_MOCK=true\nDB_PASSWORD={password}\nLOG_LEVEL=debug\n",
    }


def _git(path: Path, *args: str) -> str:
    env = {
        **git_env(),
        "GIT_AUTHOR_NAME": "alice",
        "GIT_AUTHOR_EMAIL": "alice@example.com",
        "GIT_COMMITTER_NAME": "alice",
        "GIT_COMMITTER_EMAIL": "alice@example.com",
    }
    done = subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)  # noqa: S603,S607
    return done.stdout.decode().strip()


def make_demo_repository(path: Path | str, *, problems: bool = False) -> tuple[str, str]:
    """Create (or add a commit to) a repository at `path`; return (repository URL, commit SHA).

    Each commit holds exactly its files: a clean commit after a planted one removes the
    planted files, so a demo repository left by an earlier run starts clean again.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if not (path / ".git").exists():
        _git(path, "init", "--quiet", "-b", "main")
    files = {**CLEAN_FILES, **(problem_files() if problems else {})}
    tracked = _git(path, "ls-files", "-z").split("\0")
    for name in tracked:
        if name and name not in files:
            (path / name).unlink(missing_ok=True)
    for name, content in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content)
    _git(path, "add", "-A")
    _git(path, "commit", "--quiet", "--allow-empty", "-m", "planted problems" if problems else "clean")
    return str(path.resolve()), _git(path, "rev-parse", "HEAD")
