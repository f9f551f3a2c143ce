"""What a field of text may hold: one line, or lines, and never control characters.

One-line text (a title, a version, a name) ends up in email subjects, page headings and
log lines, where a line break splits a mail header (BadHeaderError in the worker) or
forges a log line. Multi-line text (a description, evidence, a comment) may hold tab,
line feed and carriage return, and no other control character (C0, DEL, C1: terminal
escapes among them). The workflow (checklists/workflow/base.py), the admin and the email
tasks share these rules.
"""

from __future__ import annotations

import unicodedata

# Unicode categories: Cc control characters, Zl line separator, Zp paragraph separator.
ONE_LINE_REFUSED = frozenset({"Cc", "Zl", "Zp"})
MULTI_LINE_ALLOWED = frozenset("\t\n\r")


def forbidden_character(value: str, *, single_line: bool) -> str | None:
    """The first character this kind of text may not hold, or None."""
    if single_line:
        return next((ch for ch in value if unicodedata.category(ch) in ONE_LINE_REFUSED), None)
    return next(
        (ch for ch in value if ch not in MULTI_LINE_ALLOWED and unicodedata.category(ch) == "Cc"), None
    )


def problem(value: str, *, single_line: bool) -> str | None:
    """Why this text is refused, in one sentence, or None."""
    ch = forbidden_character(value, single_line=single_line)
    if ch is None:
        return None
    if single_line:
        return f"Must be one line, without line breaks, tabs or control characters (found U+{ord(ch):04X})."
    return f"Must not contain control characters other than tab and line breaks (found U+{ord(ch):04X})."


def one_line(value: str) -> str:
    """The text with each run of line breaks and control characters replaced by one space."""
    return " ".join(
        "".join(" " if unicodedata.category(ch) in ONE_LINE_REFUSED else ch for ch in value).split()
    )
