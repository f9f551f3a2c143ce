"""Read a repository at a commit, safely: git plumbing on a bare mirror, nothing executed.

Workers only (DESIGN rule 8): a web process refuses to run git at all (`forbid_git`,
called by releasegate/wsgi.py and asgi.py).

One bare mirror per repository location lives under ``settings.DATA_DIR / "mirrors"``; a
commit the mirror lacks is fetched on demand. Files are listed with ``ls-tree`` and read
through one ``git cat-file --batch`` process whose stdin is fed from a thread, so the
two pipes can never deadlock. No checkout, no hooks, no submodules, no LFS smudge;
symlinks are reported, never followed. Binary and oversized files are skipped and listed.

Before every fetch the location is checked again against this installation's rules
(checklists/git/locations.py) and its host name resolved and checked (checklists/git/netguard.py);
git then connects to that checked address only (`http.curloptResolve` for https, ssh's
`HostName` for ssh), follows no redirect, and speaks only the location's own protocol.
A repository's credentials (stored with it) reach git only through the askpass helper,
which answers only prompts for that repository's host; ssh keys live in a 0600 file for
the length of the fetch, and ssh offers no other key (none of the worker's own, no agent).
Credentials are never put on a command line or logged.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import logging
import os
import re
import shlex
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import locations, netguard

logger = logging.getLogger(__name__)

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
ASKPASS = Path(__file__).parent / "git_askpass.sh"
SYMLINK_MODE = "120000"
SUBMODULE_MODE = "160000"
BINARY_SNIFF_BYTES = 8000
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 1024 * 1024 * 1024


_git_forbidden = False


def forbid_git() -> None:
    """From now on this process runs no git at all: it is a web process (DESIGN rule 8)."""
    global _git_forbidden
    _git_forbidden = True


def _check_allowed() -> None:
    if _git_forbidden:
        raise RuntimeError("git must not run in a web process; a worker reads repositories")


@dataclass(frozen=True)
class GitSource:
    """A repository to fetch from: its location and the credentials registered with it.

    `trusted_local` is for operator commands only (`python -m checklists.scans PATH`,
    `scan_self`): a local path the operator named on the command line.
    """

    location: str
    username: str = ""
    token: str = field(default="", repr=False)
    ssh_key: str = field(default="", repr=False)
    trusted_local: bool = False

    @classmethod
    def of(cls, repository) -> GitSource:
        """The source of a registered Repository (or a location given as text)."""
        if isinstance(repository, GitSource):
            return repository
        if isinstance(repository, str | os.PathLike):
            return cls(location=str(repository))
        return cls(repository.location, repository.username, repository.token, repository.ssh_key)

    def access_digest(self) -> str:
        """Which credentials a fetch uses, as a digest ('' for none): mirrors are kept apart by it."""
        if not (self.username or self.token or self.ssh_key):
            return ""
        return hashlib.sha256(f"{self.username}\0{self.token}\0{self.ssh_key}".encode()).hexdigest()

    def checked_location(self) -> locations.Location:
        if self.trusted_local and self.location.startswith("/"):
            return locations.Location("local", os.path.normpath(self.location))
        try:
            return locations.parse(self.location)
        except locations.InvalidLocation as exc:
            raise RepoError(f"The repository location is refused: {exc}") from None


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
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_SSH_COMMAND": "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes",
    }


# Every protocol is off unless a fetch turns on its location's own one (`_access`).
SAFE_CONFIG = [
    "-c", "core.hooksPath=/dev/null",
    "-c", "protocol.allow=never",
    "-c", "submodule.recurse=false",
    "-c", "core.fsmonitor=false",
    "-c", "credential.helper=",
    "-c", "http.followRedirects=false",
]  # fmt: skip


def _git(
    git_dir: Path,
    *args: str,
    timeout: float = 60,
    check: bool = True,
    env: dict | None = None,
    config: list[str] | None = None,
) -> subprocess.CompletedProcess:
    _check_allowed()
    cmd = ["git", *SAFE_CONFIG, *(config or []), f"--git-dir={git_dir}", *args]
    try:
        done = subprocess.run(cmd, env=env or git_env(), capture_output=True, timeout=timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise RepoError(f"git {args[0]} took longer than {timeout:.0f} s.", transient=True) from None
    if check and done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, args[0], done.stdout, done.stderr)
    return done


def mirrors_dir() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / "mirrors"


def mirror_path(location: str, base: Path | None = None, *, access: str = "") -> Path:
    """The mirror of `location` fetched with `access` (a digest of the credentials used).

    One mirror per location *and* credentials: a mirror filled with one team's token must
    never answer another registration of the same location that has no (or other) access,
    or a private repository would be readable through the cache.
    """
    digest = hashlib.sha256(
        f"{location}\n{access}".encode() if access else str(location).encode()
    ).hexdigest()
    return Path(base or mirrors_dir()) / f"{digest[:24]}.git"


def _has_commit(git_dir: Path, sha: str) -> bool:
    return _git(git_dir, "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0


def fetch_timeout() -> int:
    from django.conf import settings

    if not settings.configured:  # `python -m checklists.scans PATH` runs without Django
        return 120
    return int(getattr(settings, "RELEASEGATE_GIT_TIMEOUT", 120))


def ensure_commit(source: GitSource | str, sha: str, *, base: Path | None = None) -> Path:
    """Return a bare mirror of the source's repository that holds ``sha``, fetching it if needed."""
    _check_allowed()
    source = GitSource.of(source)
    location = source.checked_location()
    if not SHA_RE.match(sha or ""):
        raise RepoError("The commit is not a full 40-character SHA.")
    git_dir = mirror_path(location.canonical, base, access=source.access_digest())
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
        with _access(location, source) as (env, config, url):
            _fetch(git_dir, url, ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"], env, config)
            if not _has_commit(git_dir, sha):
                # Not on a branch or tag: ask for the commit itself (most servers allow it).
                with contextlib.suppress(RepoError):
                    _fetch(git_dir, url, [sha], env, config)
        if not _has_commit(git_dir, sha):
            raise RepoError(f"Commit {sha} is not in the repository {redact_url(location.canonical)}.")
    return git_dir


def _bracketed(address: str) -> str:
    return f"[{address}]" if isinstance(ipaddress.ip_address(address), ipaddress.IPv6Address) else address


@contextlib.contextmanager
def _access(location: locations.Location, source: GitSource):
    """(environment, extra git config, URL) for one fetch from `location`, checked now."""
    env, config = git_env(), []
    if location.kind == "local":
        yield env, ["-c", "protocol.file.allow=always"], location.canonical
        return
    from django.conf import settings

    private_ok = location.host in {h.lower() for h in settings.RELEASEGATE_GIT_PRIVATE_HOSTS}
    try:
        address = netguard.resolve_checked(
            location.host, location.default_port, private_network_ok=private_ok
        )
    except netguard.UnsafeAddress as exc:
        raise RepoError(f"The repository's host is refused: {exc}") from None
    except ConnectionError as exc:
        raise RepoError(str(exc), transient=True) from None
    if location.kind == "https":
        config += ["-c", "protocol.https.allow=always"]
        config += ["-c", f"http.curloptResolve={location.host}:{location.default_port}:{_bracketed(address)}"]
        if source.token:
            env["GIT_ASKPASS"] = str(ASKPASS)
            env["RELEASEGATE_GIT_HOST"] = location.host_and_port
            env["RELEASEGATE_GIT_USERNAME"] = source.username or "x-access-token"
            env["RELEASEGATE_GIT_TOKEN"] = source.token
        yield env, config, location.canonical
        return
    config += ["-c", "protocol.ssh.allow=always"]
    ssh = shlex.split(env["GIT_SSH_COMMAND"]) + [
        "-o", f"UserKnownHostsFile={settings.RELEASEGATE_GIT_KNOWN_HOSTS}",
        "-o", f"HostKeyAlias={location.host}",
        "-o", f"HostName={address}",
        "-o", "ProxyCommand=none",
        # ssh finds ~/.ssh through the password database, not HOME: without these a location a
        # team owner registered would be offered the worker's own keys (and an agent's).
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rg-ssh-") as folder:
        if source.ssh_key:
            key = Path(folder) / "key"
            key.touch(mode=0o600)
            key.write_text(source.ssh_key.strip() + "\n")
            ssh += ["-i", str(key)]
        else:
            ssh += ["-o", "IdentityFile=none"]
        env["GIT_SSH_COMMAND"] = shlex.join(ssh)
        yield env, config, location.canonical


def _fetch(git_dir: Path, url: str, refspecs: list[str], env: dict, config: list[str]) -> None:
    args = ["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head"]
    done = _git(
        git_dir, *args, "--", url, *refspecs, timeout=fetch_timeout(), check=False, env=env, config=config
    )
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
    source: GitSource | str,
    sha: str,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    base: Path | None = None,
) -> Snapshot:
    """List the tree of ``sha``: readable files, plus what is skipped and why."""
    git_dir = ensure_commit(source, sha, base=base)
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
    _check_allowed()
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
