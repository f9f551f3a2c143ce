"""Detectors that read structure rather than one match: Kubernetes `Secret` manifests.

A Secret's `data:` values are base64: decoded, then judged like any value (a password,
a token, or a provider format); `stringData:` values are judged as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import checks, judge
from .rules import RuleSet

RULE = "kubernetes-secret"
ITEM_RE = re.compile(rb"^(\s+)([A-Za-z0-9_.\-]+):[ \t]*[\"']?([A-Za-z0-9+/=_.\-]*)[\"']?[ \t]*$")
BLOCK_RE = re.compile(rb"^(\s*)(data|stringData):\s*$")
KIND_RE = re.compile(rb"(?m)^kind:\s*[\"']?Secret[\"']?\s*$")


def _secret_like(value: str, rules: RuleSet) -> bool:
    if judge.looks_like_password(value) or judge.looks_like_token(value):
        return True
    raw = value.encode()
    return any(rule.regex.search(raw) for rule in rules.rules if not rule.generic)


def find(path: str, data: bytes, rules: RuleSet) -> Iterator[tuple[int, int, str, bool]]:
    """(start, end, rule, found) for each value of a Secret's data, decoded and judged."""
    if b"kind:" not in data or not KIND_RE.search(data):
        return
    block_indent: int | None = None
    encoded = False
    offset = 0
    for line in data.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        if line.strip() == b"---":
            block_indent = None
            continue
        block = BLOCK_RE.match(line)
        if block:
            block_indent, encoded = len(block.group(1)), block.group(2) == b"data"
            continue
        if block_indent is None:
            continue
        item = ITEM_RE.match(line)
        if not item or len(item.group(1)) <= block_indent:
            if line.strip() and (len(line) - len(line.lstrip())) <= block_indent:
                block_indent = None  # the block ended
            continue
        value = item.group(3).decode("ascii", "replace")
        if not value:
            continue
        plain = value
        if encoded:
            decoded = checks.b64decode(value)
            text = checks.printable(decoded) if decoded else None
            if text is None:
                continue
            plain = text.strip()
        found = not judge.is_placeholder(plain) and _secret_like(plain, rules)
        yield start + item.start(3), start + item.end(3), RULE, found
