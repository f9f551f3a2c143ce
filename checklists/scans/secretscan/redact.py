"""Excerpts that never carry a secret: the finding's own and every neighbour on the line.

Every span any rule matched on the line is masked (placeholders included), and so is
every word that could be a secret no rule knows: anything mixing letters with digits or
with symbols such as `@!#$%`, and long random-looking runs. Only plain words, numbers
of a few digits and punctuation survive: enough to say where the secret is.
"""

from __future__ import annotations

import re

MASK = "********"
NEIGHBOUR_MASK = "****"
CONTEXT = 40
MAX_EXCERPT = 160
# Words are split at blanks, quotes, brackets and the usual assignment operators only:
# `p@ss!w0rd#42` stays one word, so it is judged whole.
WORD_RE = re.compile(r"""[^\s"'`=:,;()\[\]{}<>]+""")
SAFE_WORD_RE = re.compile(r"^(?:[A-Za-z_\-./]+|\d{1,6}|[A-Za-z_]+\.[A-Za-z_.]+\(?\)?)$")
UNUSUAL = set("@!#$%^&*~|\\?+")


def redact(secret: bytes, keep: int) -> str:
    """The public prefix of a secret (at most `keep` characters), then a mask."""
    if keep >= len(secret):
        return secret.decode("utf-8", "replace")  # wholly public, like a PEM header
    shown = secret[: min(keep, len(secret) // 2)] if len(secret) >= 12 else b""
    return shown.decode("utf-8", "replace") + MASK


def _safe(word: str) -> bool:
    if not SAFE_WORD_RE.match(word) or any(c in UNUSUAL for c in word):
        return False
    # A long run of letters with case flipping all the time is a token, not a word.
    letters = [c for c in word if c.isalpha()]
    if len(letters) >= 16:
        flips = sum(a.isupper() != b.isupper() for a, b in zip(letters, letters[1:], strict=False))
        if flips / (len(letters) - 1) > 0.3:
            return False
    return True


def mask_words(text: str) -> str:
    return WORD_RE.sub(lambda m: m.group(0) if _safe(m.group(0)) else NEIGHBOUR_MASK, text)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def excerpt(line: bytes, start: int, end: int, keep: int, others: list[tuple[int, int]]) -> str:
    """The line around [start, end) with that secret redacted and every other secret masked."""
    lo, hi = max(0, start - CONTEXT), min(len(line), end + CONTEXT)
    spans = _merge([(s, e) for s, e in others if e > lo and s < hi and not (s >= start and e <= end)])
    out: list[str] = []
    pos = lo
    for s, e in _with_own(line, spans, start, end):
        if s > pos:
            out.append(mask_words(line[pos:s].decode("utf-8", "replace")))
        if (s, e) == (start, end):
            out.append(redact(line[start:end], keep))
        elif e > pos:
            out.append(NEIGHBOUR_MASK)
        pos = max(pos, e)
    if pos < hi:
        out.append(mask_words(line[pos:hi].decode("utf-8", "replace")))
    text = "".join(out).strip()
    return text if len(text) <= MAX_EXCERPT else text[: MAX_EXCERPT - 1] + "…"


def _with_own(line: bytes, spans: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """Other spans with the finding's own inserted in order; an overlapping neighbour is cut back
    to its parts outside the secret, and those are masked only if they hold letters or digits
    (a quote around the secret stays a quote)."""
    out = []
    for s, e in spans:
        if e <= start or s >= end:
            out.append((s, e))
            continue
        for a, b in ((s, min(e, start)), (max(s, end), e)):
            if b > a and any(chr(c).isalnum() for c in line[a:b]):
                out.append((a, b))
    out.append((start, end))
    return sorted(out)
