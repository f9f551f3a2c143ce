"""Make small git repositories for scanner tests: real commits, real trees."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "alice",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "alice",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
}


@dataclass(frozen=True)
class Symlink:
    target: str


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True).stdout.decode()


def make_repo(path: Path, files: dict[str, str | bytes | Symlink]) -> tuple[str, str]:
    """Create a repository at `path` with one commit of `files`; return (url, sha)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "-b", "main")
    commit_files(path, files)
    return str(path), git(path, "rev-parse", "HEAD").strip()


def commit_files(path: Path, files: dict[str, str | bytes | Symlink], message: str = "files") -> str:
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Symlink):
            os.symlink(content.target, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(path, "rev-parse", "HEAD").strip()


def _random(alphabet: str, n: int) -> str:
    import secrets

    return "".join(secrets.choice(alphabet) for _ in range(n))


UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = UPPER.lower()
DIGITS = "0123456789"
ALNUM = UPPER + LOWER + DIGITS


def planted_secrets() -> dict[str, str]:
    """Fresh secrets in each vendor's public format, made at run time (none live in this repo)."""
    import base64

    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(b'{"sub":"' + _random(ALNUM, 12).encode() + b'"}').rstrip(b"=").decode()
    return {
        "aws-access-key-id": "AKIA" + _random(UPPER + "234567", 16),
        "aws-secret-access-key": _random(ALNUM + "/+", 40),
        "github-token": "ghp_" + _random(ALNUM, 36),
        "gitlab-token": "glpat-" + _random(ALNUM, 20),
        "slack-token": "xoxb-" + _random(DIGITS, 12) + "-" + _random(DIGITS, 12) + "-" + _random(ALNUM, 24),
        "stripe-key": "sk_live_" + _random(ALNUM, 24),
        "google-api-key": "AIza" + _random(ALNUM + "_-", 35),
        "private-key-body": _random(ALNUM + "+/", 64),
        "jwt": f"{header}.{body}.{_random(ALNUM + '_-', 43)}",
        "password": _random(ALNUM, 10) + "!" + _random(DIGITS, 3),
    }


def private_key_block(body: str) -> str:
    kind = "RSA PRIVATE KEY"
    return f"-----BEGIN {kind}-----\n{body}\n{body[::-1]}\n-----END {kind}-----\n"
