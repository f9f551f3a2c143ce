"""Read a repository at a commit, safely: git plumbing on a bare mirror, nothing executed.

One bare mirror per repository URL lives under ``settings.DATA_DIR / "mirrors"``; a
commit the mirror lacks is fetched on demand. Files are listed with ``ls-tree`` and read
through one ``git cat-file --batch`` process whose stdin is fed from a thread, so the
two pipes can never deadlock. No checkout, no hooks, no submodules, no LFS smudge;
symlinks are reported, never followed. Binary and oversized files are skipped and listed.

Credentials come only from the environment of the worker (RELEASEGATE_GIT_USERNAME /
RELEASEGATE_GIT_TOKEN through GIT_ASKPASS, RELEASEGATE_GIT_SSH_KEY for ssh) and are never
stored, passed on a command line or logged.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
ASKPASS = Path(__file__).parent / "scans" / "git_askpass.sh"
SYMLINK_MODE = "120000"
SUBMODULE_MODE = "160000"
BINARY_SNIFF_BYTES = 8000
FETCH_TIMEOUT = 300
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 1024 * 1024 * 1024


class RepoError(Exception):
    """The repository or commit cannot be read; the message is plain and safe to show."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class RepoFile:
    path: str
    mode: str
    oid: str
    size: int

    @property
    def is_symlink(self) -> bool:
        return self.mode == SYMLINK_MODE


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str  # symlink | submodule | too_large | binary


@dataclass
class Snapshot:
    """The tree of one commit; ``read()`` streams the text files' contents."""

    git_dir: Path
    commit: str
    files: list[RepoFile]
    skipped: list[Skipped] = field(default_factory=list)
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    def read(self, files: Iterable[RepoFile] | None = None) -> Iterator[tuple[RepoFile, bytes]]:
        """Yield (file, content) for text files; binary ones are added to ``skipped``."""
        wanted = list(self.files if files is None else files)
        for item, data in cat_file_batch(self.git_dir, wanted):
            if b"\x00" in data[:BINARY_SNIFF_BYTES]:
                self.skipped.append(Skipped(item.path, "binary"))
                continue
            yield item, data

    def skipped_summary(self, limit: int = 50) -> dict:
        by_reason: dict[str, list[str]] = {}
        for entry in self.skipped:
            by_reason.setdefault(entry.reason, []).append(entry.path)
        return {reason: {"count": len(paths), "paths": paths[:limit]} for reason, paths in by_reason.items()}


def redact_url(url: str) -> str:
    """The URL without any user:password part, for messages and logs."""
    return re.sub(r"(?<=://)[^/@\s]*@", "***@", url)


def git_env() -> dict[str, str]:
    """A minimal environment: no system or global config, no prompts, no LFS, no hooks."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes",
    }
    if os.environ.get("RELEASEGATE_GIT_TOKEN"):
        # The helper prints these variables to git; they never reach a command line.
        env["GIT_ASKPASS"] = str(ASKPASS)
        env["RELEASEGATE_GIT_USERNAME"] = os.environ.get("RELEASEGATE_GIT_USERNAME", "x-access-token")
        env["RELEASEGATE_GIT_TOKEN"] = os.environ["RELEASEGATE_GIT_TOKEN"]
    if key := os.environ.get("RELEASEGATE_GIT_SSH_KEY"):
        env["GIT_SSH_COMMAND"] += f" -o IdentitiesOnly=yes -i {key}"
    return env


SAFE_CONFIG = [
    "-c", "core.hooksPath=/dev/null",
    "-c", "protocol.allow=never",
    "-c", "protocol.https.allow=always",
    "-c", "protocol.http.allow=always",
    "-c", "protocol.ssh.allow=always",
    "-c", "protocol.file.allow=always",
    "-c", "submodule.recurse=false",
    "-c", "core.fsmonitor=false",
    "-c", "credential.helper=",
]  # fmt: skip


def _git(git_dir: Path, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["git", *SAFE_CONFIG, f"--git-dir={git_dir}", *args]
    try:
        done = subprocess.run(cmd, env=git_env(), capture_output=True, timeout=timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise RepoError(f"git {args[0]} took longer than {timeout:.0f} s.", transient=True) from None
    if check and done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, args[0], done.stdout, done.stderr)
    return done


def mirrors_dir() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / "mirrors"


def mirror_path(url: str, base: Path | None = None) -> Path:
    digest = hashlib.sha256(url.encode()).hexdigest()[:24]
    return Path(base or mirrors_dir()) / f"{digest}.git"


def _check_url(url: str) -> str:
    url = url.strip()
    if not url or url.startswith("-") or "::" in url or any(c.isspace() or ord(c) < 32 for c in url):
        raise RepoError("The repository address is not a URL or path git may fetch from.")
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url) and not re.match(r"^(https?|ssh|file)://", url):
        raise RepoError("Only https://, ssh://, file:// repositories and local paths can be scanned.")
    return url


def _has_commit(git_dir: Path, sha: str) -> bool:
    return _git(git_dir, "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0


def ensure_commit(url: str, sha: str, *, base: Path | None = None) -> Path:
    """Return a bare mirror of ``url`` that holds ``sha``, fetching it if needed."""
    url = _check_url(url)
    if not SHA_RE.match(sha or ""):
        raise RepoError("The commit is not a full 40-character SHA.")
    git_dir = mirror_path(url, base)
    git_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(git_dir.parent / f"{git_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one fetch per mirror at a time, across workers
        if not (git_dir / "HEAD").exists():
            subprocess.run(  # noqa: S603
                ["git", "init", "--quiet", "--bare", str(git_dir)],  # noqa: S607
                env=git_env(),
                check=True,
                capture_output=True,
            )
        if _has_commit(git_dir, sha):
            return git_dir
        _fetch(git_dir, url, ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"])
        if not _has_commit(git_dir, sha):
            # Not on a branch or tag: ask for the commit itself (most servers allow it).
            with contextlib.suppress(RepoError):
                _fetch(git_dir, url, [sha])
        if not _has_commit(git_dir, sha):
            raise RepoError(f"Commit {sha} is not in the repository {redact_url(url)}.")
    return git_dir


def _fetch(git_dir: Path, url: str, refspecs: list[str]) -> None:
    args = ["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head"]
    done = _git(git_dir, *args, "--", url, *refspecs, timeout=FETCH_TIMEOUT, check=False)
    if done.returncode == 0:
        return
    stderr = done.stderr.decode("utf-8", "replace")
    logger.info("git fetch of %s failed: %s", redact_url(url), redact_url(stderr.strip())[:500])
    transient = any(
        hint in stderr.lower()
        for hint in ("timed out", "could not resolve host", "connection reset", "temporarily", "early eof")
    )
    raise RepoError(f"Could not fetch {redact_url(url)}: {_plain_git_error(stderr)}", transient=transient)


def _plain_git_error(stderr: str) -> str:
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith(("fatal:", "error:")):
            return redact_url(line.split(":", 1)[1].strip())[:300]
    return "git refused (no details)."


def snapshot(
    url: str,
    sha: str,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    base: Path | None = None,
) -> Snapshot:
    """List the tree of ``sha``: readable files, plus what is skipped and why."""
    git_dir = ensure_commit(url, sha, base=base)
    done = _git(git_dir, "ls-tree", "-r", "-l", "-z", "--full-tree", sha, timeout=120, check=False)
    if done.returncode != 0:
        raise RepoError(f"Could not list the files of commit {sha}.")
    files, skipped = [], []
    for record in done.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, oid, size = meta.split()
        path = raw_path.decode("utf-8", "replace")
        mode_s = mode.decode()
        if mode_s == SUBMODULE_MODE or kind != b"blob":
            skipped.append(Skipped(path, "submodule"))
        elif mode_s == SYMLINK_MODE:
            skipped.append(Skipped(path, "symlink"))
        elif int(size) > max_file_bytes:
            skipped.append(Skipped(path, "too_large"))
        else:
            files.append(RepoFile(path, mode_s, oid.decode(), int(size)))
    total = sum(f.size for f in files)
    if total > max_total_bytes:
        raise RepoError(
            f"The commit holds {total / 1e6:.0f} MB of scannable files; the limit is "
            f"{max_total_bytes / 1e6:.0f} MB."
        )
    return Snapshot(git_dir, sha, files, skipped, max_file_bytes)


def cat_file_batch(git_dir: Path, files: list[RepoFile]) -> Iterator[tuple[RepoFile, bytes]]:
    """Stream blobs through one ``cat-file --batch``; a thread writes the requests."""
    if not files:
        return
    cmd = ["git", *SAFE_CONFIG, f"--git-dir={git_dir}", "cat-file", "--batch"]
    proc = subprocess.Popen(  # noqa: S603
        cmd, env=git_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )

    def feed():
        try:
            for item in files:
                proc.stdin.write(f"{item.oid}\n".encode())
            proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the reader stopped early; nothing more to ask

    writer = threading.Thread(target=feed, daemon=True, name="cat-file-feed")
    writer.start()
    try:
        for item in files:
            header = proc.stdout.readline()
            parts = header.split()
            if len(parts) != 3:
                raise RepoError(f"git could not read {item.path}.")
            size = int(parts[2])
            data = proc.stdout.read(size)
            proc.stdout.read(1)  # the newline after each object
            yield item, data
    finally:
        with contextlib.suppress(OSError):
            proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        writer.join(timeout=5)


def symlink_target(git_dir: Path, sha: str, path: str) -> str:
    """What a symlink points at (its blob), without following it."""
    done = _git(git_dir, "cat-file", "blob", f"{sha}:{path}", check=False)
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else ""
