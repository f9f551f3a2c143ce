"""Read a commit range from a repository's mirror: workers only (the `read_commit_range` task).

Given production (the team's last deployed commit, or nothing) and a release's commit, it
reads with git plumbing (checklists/git/repo.py: nothing executed):
- the commits that ship (`base..head`, newest first) with author and committer,
- the changed files from production to the commit, with added and deleted line counts,
- the commit's relation to production: new (nothing deployed), same, ahead, behind or
  diverged, with how many commits it is ahead and behind.
Everything is capped (MAX_COMMITS, MAX_FILES). The result is stored by
workflow.record_range_read; pages and the workflow read only the stored row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import repo

MAX_COMMITS = 500  # a range stores at most this many commits (truncated says so)
MAX_FILES = 1000
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
FIELD_SEP, RECORD_SEP = "\x1f", "\x1e"
LOG_FORMAT = FIELD_SEP.join(["%H", "%an", "%ae", "%cn", "%ce", "%cI", "%s"]) + RECORD_SEP


@dataclass
class RangeRead:
    relation: str
    ahead_by: int
    behind_by: int
    commits: list[dict] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    truncated: bool = False


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
                "author_name": an[:200],
                "author_email": ae[:200],
                "committer_name": cn[:200],
                "committer_email": ce[:200],
                "date": when,
                "subject": subject[:200],
            }
        )
    return commits


def _parse_numstat(raw: bytes) -> tuple[list[dict], bool]:
    """`git diff --numstat -z --no-renames`: "added<TAB>deleted<TAB>path<NUL>" per file."""
    files = []
    for record in raw.split(b"\0"):
        if not record:
            continue
        added, _, rest = record.partition(b"\t")
        deleted, _, path = rest.partition(b"\t")
        binary = added == b"-"
        files.append(
            {
                "path": path.decode("utf-8", "replace")[:1000],
                "additions": None if binary else int(added or 0),
                "deletions": None if binary else int(deleted or 0),
                "binary": binary,
            }
        )
        if len(files) > MAX_FILES:
            return files[:MAX_FILES], True
    return files, False


def _is_ancestor(git_dir, older: str, newer: str) -> bool:
    done = repo._git(git_dir, "merge-base", "--is-ancestor", older, newer, check=False)
    if done.returncode not in (0, 1):
        raise repo.RepoError("Could not compare the commit with production.")
    return done.returncode == 0


def _relation(git_dir, base: str, head: str) -> tuple[str, int, int]:
    if not base:
        return "new", 0, 0
    if base == head:
        return "same", 0, 0
    counts = repo._git(git_dir, "rev-list", "--left-right", "--count", f"{base}...{head}", check=False)
    if counts.returncode != 0:
        raise repo.RepoError("Could not count the commits between production and the release.")
    behind, ahead = (int(n) for n in counts.stdout.split())
    if _is_ancestor(git_dir, base, head):
        return "ahead", ahead, 0
    if _is_ancestor(git_dir, head, base):
        return "behind", 0, behind
    return "diverged", ahead, behind


def read_range(source: repo.GitSource, base: str, head: str) -> RangeRead:
    """What ships from production `base` (may be empty) to `head`; raises repo.RepoError."""
    git_dir = repo.ensure_commit(source, head)
    if base:
        try:
            repo.ensure_commit(source, base)
        except repo.RepoError as exc:
            if exc.transient:
                raise
            raise repo.RepoError(
                f"The deployed commit {base[:12]} is no longer in the repository, so what ships "
                "cannot be told (was history rewritten?)."
            ) from None
    relation, ahead_by, behind_by = _relation(git_dir, base, head)
    spec = f"{base}..{head}" if base else head
    log = repo._git(
        git_dir, "log", f"--format={LOG_FORMAT}", f"--max-count={MAX_COMMITS + 1}", spec, "--", check=False
    )
    if log.returncode != 0:
        raise repo.RepoError(f"Could not list the commits {spec}.")
    commits = _parse_log(log.stdout.decode("utf-8", "replace"))
    truncated = len(commits) > MAX_COMMITS
    commits = commits[:MAX_COMMITS]
    diff = repo._git(
        git_dir, "diff", "--numstat", "-z", "--no-renames", base or EMPTY_TREE, head, "--",
        check=False, timeout=120,
    )  # fmt: skip
    if diff.returncode != 0:
        raise repo.RepoError("Could not list the changed files.")
    files, files_truncated = _parse_numstat(diff.stdout)
    return RangeRead(relation, ahead_by, behind_by, commits, files, truncated or files_truncated)
