"""A change between two texts, as a person reads it: what was removed, what was added, in context.

Cutting both sides of a change at the same length ("refund-qu… -> refund-qu…") hides the one
thing a reviewer needs. `inline_diff` compares words and punctuation (so `refund-queue-v1` ->
`refund-queue-v2` shows `v1` removed and `v2` added inside `refund-queue-`), keeps a few
unchanged words around each change and folds long unchanged stretches into a gap.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
CONTEXT = 8  # unchanged tokens kept on each side of a change
MAX_CHANGED = 2_000  # characters of removed or added text shown per side; the rest is summarised


@dataclass(frozen=True)
class Segment:
    op: str  # same | del | ins | gap
    text: str


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text or "")


def _shorten(text: str) -> str:
    if len(text) <= MAX_CHANGED:
        return text
    return text[:MAX_CHANGED] + f" … ({len(text) - MAX_CHANGED:,} more characters)"


def inline_diff(before: str | None, after: str | None) -> list[Segment]:
    """The segments that turn `before` into `after`, unchanged stretches folded around the changes."""
    old, new = _tokens(before or ""), _tokens(after or "")
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    opcodes = matcher.get_opcodes()
    segments: list[Segment] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            same = old[i1:i2]
            first, last = index == 0, index == len(opcodes) - 1
            keep_head = 0 if first else CONTEXT
            keep_tail = 0 if last else CONTEXT
            if len(same) > keep_head + keep_tail + 2:
                if keep_head:
                    segments.append(Segment("same", "".join(same[:keep_head])))
                segments.append(Segment("gap", "…"))
                if keep_tail:
                    segments.append(Segment("same", "".join(same[-keep_tail:])))
            else:
                segments.append(Segment("same", "".join(same)))
            continue
        if tag in ("delete", "replace"):
            segments.append(Segment("del", _shorten("".join(old[i1:i2]))))
        if tag in ("insert", "replace"):
            segments.append(Segment("ins", _shorten("".join(new[j1:j2]))))
    return segments
