"""What every scanner takes and returns. Scanners are pure: no ORM, no Celery."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from checklists.git.repo import Snapshot


class ScannerUnavailable(Exception):
    """The scanner cannot decide (no input, target unreachable); the message is plain.

    ``transient`` asks the task to retry later with backoff.
    """

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    rule: str
    excerpt: str  # redacted: never a secret
    message: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ScanResult:
    status: str  # passed | failed | error
    findings: list[Finding] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    error: str = ""

    @classmethod
    def from_findings(cls, findings: list[Finding], **summary) -> ScanResult:
        return cls("failed" if findings else "passed", findings, {"findings": len(findings), **summary})


@dataclass
class ScanTarget:
    """Everything a scanner may look at; built by the task from the database and the repo."""

    repository: str = ""
    commit: str = ""
    snapshot: Snapshot | None = None
    config_globs: list[str] = field(default_factory=list)
    secrets_allowlist: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    public_allowlist: list[str] = field(default_factory=list)
    test_report: bytes | None = None
    test_report_commit: str = ""
    options: dict = field(default_factory=dict)
    # Findings per (blob id, rules version), shared by workers (secretscan/cache.py BlobCache).
    secrets_cache: object | None = None


# --- globs -------------------------------------------------------------------


def expand_braces(pattern: str) -> list[str]:
    """`a/*.{yml,yaml}` -> [`a/*.yml`, `a/*.yaml`] (nested braces too)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    out = []
    for choice in match.group(1).split(","):
        out.extend(expand_braces(head + choice + tail))
    return list(dict.fromkeys(out))


def _translate(pattern: str) -> str:
    i, out = 0, []
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def _compile_globs(patterns: tuple[str, ...]) -> re.Pattern:
    parts = [_translate(p.lstrip("/")) for pattern in patterns for p in expand_braces(pattern)]
    return re.compile("(?:" + "|".join(parts) + ")$" if parts else r"(?!)")


def glob_match(path: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """Match a repository path against globs with `**`, `*`, `?`, `[...]` and `{a,b}`."""
    return _compile_globs(tuple(patterns)).match(path) is not None
