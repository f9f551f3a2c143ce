"""What ships: the commits and changed files between the team's last deployed commit and a release's.

Read from the bare mirror (checklists/repo.py: plumbing only, nothing executed), capped,
and kept in CommitRange so a page view or a sign-off reads git once per range. A range
that cannot be read is not stored; its error is remembered for FAILURE_TTL seconds so
that page views do not run a failing fetch each time, then the next read tries again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from . import repo
from .models import CommitRange, Release

FAILURE_TTL = 300
MAX_COMMITS = 500
MAX_FILES = 1000
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
FIELD_SEP, RECORD_SEP = "\x1f", "\x1e"
LOG_FORMAT = FIELD_SEP.join(["%H", "%an", "%ae", "%cn", "%ce", "%cI", "%s"]) + RECORD_SEP


@dataclass
class Shipping:
    """A commit range as the page and the API show it; `error` says why it is unavailable."""

    base: str = ""
    head: str = ""
    commits: list[dict] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    truncated: bool = False
    error: str = ""
    base_release: int | None = None

    @property
    def available(self) -> bool:
        return not self.error

    def emails(self) -> set[str]:
        """Every author and committer email in the range, lower case."""
        found = set()
        for commit in self.commits:
            for key in ("author_email", "committer_email"):
                if commit.get(key):
                    found.add(commit[key].strip().lower())
        return found

    def as_dict(self) -> dict:
        return {
            "available": self.available,
            "error": self.error or None,
            "base": self.base or None,
            "base_release": self.base_release,
            "head": self.head,
            "commits": self.commits,
            "files": self.files,
            "truncated": self.truncated,
            "max_commits": MAX_COMMITS,
            "max_files": MAX_FILES,
        }


def last_deployed(release: Release) -> Release | None:
    """The team's most recent deployment of the same repository, other than this release."""
    return (
        Release.objects.filter(
            team_id=release.team_id, repository=release.repository, status=Release.Status.DEPLOYED
        )
        .exclude(pk=release.pk)
        .order_by("-deployed_at", "-id")
        .first()
    )


def _parse_log(text: str) -> list[dict]:
    commits = []
    for record in text.split(RECORD_SEP):
        record = record.strip("\n")
        if not record:
            continue
        sha, an, ae, cn, ce, when, subject = (record.split(FIELD_SEP) + [""] * 7)[:7]
        commits.append(
            {
                "sha": sha,
                "author_name": an,
                "author_email": ae,
                "committer_name": cn,
                "committer_email": ce,
                "date": when,
                "subject": subject[:200],
            }
        )
    return commits


def _parse_name_status(raw: bytes) -> tuple[list[dict], bool]:
    parts = raw.decode("utf-8", "replace").split("\0")
    files, i = [], 0
    while i < len(parts) and parts[i]:
        status = parts[i]
        if status[:1] in ("R", "C") and i + 2 < len(parts):
            files.append({"status": status[:1], "path": parts[i + 2], "from": parts[i + 1]})
            i += 3
        elif i + 1 < len(parts):
            files.append({"status": status[:1], "path": parts[i + 1]})
            i += 2
        else:
            break
        if len(files) > MAX_FILES:
            return files[:MAX_FILES], True
    return files, False


def read_range(url: str, base: str, head: str) -> tuple[list[dict], list[dict], bool]:
    """Commits (newest first) and changed files of base..head; raises repo.RepoError."""
    git_dir = repo.ensure_commit(url, head)
    if base:
        repo.ensure_commit(url, base)
    spec = f"{base}..{head}" if base else head
    log = repo._git(
        git_dir, "log", f"--format={LOG_FORMAT}", f"--max-count={MAX_COMMITS + 1}", spec, "--", check=False
    )
    if log.returncode != 0:
        raise repo.RepoError(f"Could not list the commits {spec}.")
    commits = _parse_log(log.stdout.decode("utf-8", "replace"))
    truncated = len(commits) > MAX_COMMITS
    commits = commits[:MAX_COMMITS]
    if base:
        since = base
    elif truncated:
        since = f"{commits[-1]['sha']}^"
    else:
        since = EMPTY_TREE
    diff = repo._git(
        git_dir, "diff", "--name-status", "-z", "--no-renames", since, head, "--", check=False, timeout=120
    )
    if diff.returncode != 0:
        raise repo.RepoError("Could not list the changed files.")
    files, files_truncated = _parse_name_status(diff.stdout)
    return commits, files, truncated or files_truncated


def shipping(release: Release) -> Shipping:
    """What ships with this release, from the cache or the mirror; never raises."""
    base_release = last_deployed(release)
    base = base_release.commit if base_release else ""
    result = Shipping(base=base, head=release.commit, base_release=base_release.pk if base_release else None)
    if base == release.commit:
        return result  # the same commit again: nothing new ships
    if not settings.RELEASEGATE_READ_COMMIT_RANGES:
        result.error = "Reading commit ranges from repositories is turned off on this instance."
        return result
    cached = CommitRange.objects.filter(repository=release.repository, base=base, head=release.commit).first()
    if cached is None:
        failure_key = (
            "releasegate:range-failure:"
            + hashlib.sha256(f"{release.repository}\n{base}\n{release.commit}".encode()).hexdigest()
        )
        if failed := cache.get(failure_key):
            result.error = failed
            return result
        try:
            commits, files, truncated = read_range(release.repository, base, release.commit)
        except repo.RepoError as exc:
            result.error = f"The repository could not be read: {exc.message}"
        except OSError as exc:  # git missing, disk full: say so plainly
            result.error = f"The repository could not be read: {exc.strerror or exc}"
        if result.error:
            cache.set(failure_key, result.error, FAILURE_TTL)
            return result
        cached = CommitRange(
            repository=release.repository,
            base=base,
            head=release.commit,
            commits=commits,
            files=files,
            truncated=truncated,
        )
        try:
            with transaction.atomic():
                cached.save()
        except IntegrityError:
            pass  # another request stored the same range meanwhile
    result.commits, result.files, result.truncated = cached.commits, cached.files, cached.truncated
    return result
