"""Scan one blob: keyword prefilter, every triggered rule over the text, checks, redaction.

Linear in the blob: one RE2 set pass finds which keywords occur, then each triggered rule
is one RE2 pass (linear whatever the input); a long file is cut into windows at line ends,
and a line longer than a window is cut with an overlap longer than any rule's match, so a
secret on a window's edge is still found once. Findings are capped per blob.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

import re2

from ..base import Finding, glob_match
from . import checks, judge, redact, structured
from .rules import OPTIONS, TOKEN_CHARS, Rule, RuleSet

PRAGMA = b"releasegate: allow"
WINDOW = 256 * 1024
OVERLAP = 4096  # longer than any rule's longest match
LINE_CONTEXT = 1024  # bytes of a long line around a finding that are read for its excerpt
MAX_FINDINGS_PER_BLOB = 1000
NEWLINE = re.compile(b"\n")
# Files whose random-looking strings are hashes or packed code, not secrets: only the
# provider formats run there, never the generic layers.
HASHY_FILES = (
    "**/*.lock",
    "**/package-lock.json",
    "**/npm-shrinkwrap.json",
    "**/pnpm-lock.yaml",
    "**/go.sum",
    "**/*.min.js",
    "**/*.min.css",
    "**/*.map",
    "**/*.svg",
    "**/.secrets.baseline",
    "**/*.baseline",
    "**/*.sum",
)


@dataclass(frozen=True)
class Hit:
    start: int  # the secret's offset in the blob
    end: int
    order: int  # the rule's place in the rule set: provider formats before generic layers
    generic: bool
    rule: str
    keep: int
    found: bool  # False: only a span to mask in excerpts (a placeholder, a filtered match)


@dataclass(frozen=True)
class BlobScan:
    findings: list[Finding]
    total: int  # findings before the per-blob cap


@lru_cache(maxsize=8)
def _keyword_index(rules: RuleSet) -> tuple[re2.Set, tuple[bytes, ...], dict[bytes, tuple[int, ...]]]:
    keywords = tuple(sorted({k for rule in rules.rules for k in rule.keywords}))
    index = re2.Set.SearchSet(OPTIONS)
    for keyword in keywords:
        index.Add(re2.escape(keyword))
    index.Compile()
    by_keyword: dict[bytes, list[int]] = {}
    for i, rule in enumerate(rules.rules):
        for keyword in rule.keywords:
            by_keyword.setdefault(keyword, []).append(i)
    return index, keywords, {k: tuple(v) for k, v in by_keyword.items()}


def windows(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, bytes) pieces of at most WINDOW bytes, cut at a line end where there is one."""
    if len(data) <= WINDOW:
        return [(0, data)]
    out, pos = [], 0
    while pos < len(data):
        end = min(len(data), pos + WINDOW)
        if end == len(data):
            out.append((pos, data[pos:]))
            break
        cut = data.rfind(b"\n", pos + WINDOW // 2, end)
        if cut != -1:
            out.append((pos, data[pos : cut + 1]))
            pos = cut + 1
        else:  # one long line: cut anywhere, and overlap so no match is split
            out.append((pos, data[pos:end]))
            pos = end - OVERLAP
    return out


def _triggered(rules: RuleSet, lowered: bytes) -> list[int]:
    index, keywords, by_keyword = _keyword_index(rules)
    wanted = {i for i, rule in enumerate(rules.rules) if not rule.keywords}
    for k in index.Match(lowered) or ():
        wanted.update(by_keyword[keywords[k]])
    return sorted(wanted)


def _accept(rule: Rule, rules: RuleSet, secret: bytes, data: bytes, end: int, context: bytes) -> bool:
    if rule.boundary and end < len(data) and data[end] in TOKEN_CHARS:
        return False  # the run goes on: a longer string that only starts like this token
    if rule.entropy and judge.shannon_entropy(secret) < rule.entropy:
        return False
    if any(a.search(secret) for a in rule.allow) or any(a.search(secret) for a in rules.allow_values):
        return False
    text = secret.decode("utf-8", "replace")
    if {judge.fingerprint(secret), judge.fingerprint(text.strip("\"'`"))} & rules.example_hashes:
        return False  # the provider's own documented example key, bare or quoted
    if not rule.check and judge.is_placeholder(text):
        return False
    if not checks.passes(rule.check, text, context.decode("utf-8", "replace")):
        return False
    return not (rule.followed_by and not rule.followed_by.search(data[end : end + 2048]))


def find_hits(path: str, data: bytes, rules: RuleSet) -> list[Hit]:
    hashy = glob_match(path, HASHY_FILES)
    hits: dict[tuple[int, str], Hit] = {}
    judged: dict[tuple, bool] = {}
    for base, chunk in windows(data):
        for i in _triggered(rules, chunk.lower()):
            rule = rules.rules[i]
            if (rule.paths and not glob_match(path, rule.paths)) or (hashy and rule.generic):
                continue
            for match in rule.regex.finditer(chunk):
                start, end = match.span(rule.group)
                if start < 0 or end <= start:
                    continue
                key = (base + start, rule.id)
                if key in hits:
                    continue  # seen in the overlap of two windows
                secret = chunk[start:end]
                runs_on = rule.boundary and end < len(chunk) and chunk[end] in TOKEN_CHARS
                verdict = (i, secret, runs_on, match.group(0) if rule.check else b"")
                if verdict not in judged:  # the same value again (a repeated line) is judged once
                    judged[verdict] = not runs_on and _accept(rule, rules, secret, chunk, end, verdict[3])
                found = judged[verdict]
                hits[key] = Hit(base + start, base + end, i, rule.generic, rule.id, rule.keep, found)
    for start, end, rule_id, found in structured.find(path, data, rules):
        order = len(rules.rules)
        hits.setdefault((start, rule_id), Hit(start, end, order, True, rule_id, 0, found))
    return sorted(hits.values(), key=lambda h: (h.start, h.order))


def scan_blob(path: str, data: bytes, rules: RuleSet, allowlist: list[str] = ()) -> BlobScan:
    """Every rule over one file's bytes; redacted findings, one per secret and line."""
    hits = find_hits(path, data, rules)
    if not any(h.found for h in hits):
        return BlobScan([], 0)
    spans = sorted((h.start, h.end) for h in hits)
    starts = [s for s, _ in spans]
    newlines = [m.start() for m in NEWLINE.finditer(data)]
    findings: list[Finding] = []
    taken: dict[int, list[tuple[int, int]]] = {}  # per line: secrets reported, skip overlapping rules
    seen: set[tuple[int, bytes]] = set()
    pragma: dict[int, bool] = {}
    total = 0
    # Provider formats first: a token inside a generic assignment is reported by its format.
    for hit in sorted((h for h in hits if h.found), key=lambda h: (h.generic, h.start, h.order)):
        number = bisect.bisect_left(newlines, hit.start) + 1
        if any(s < hit.end and hit.start < e for s, e in taken.get(number, ())):
            continue
        line_start = newlines[number - 2] + 1 if number > 1 else 0
        line_end = newlines[number - 1] if number - 1 < len(newlines) else len(data)
        lo, hi = max(line_start, hit.start - LINE_CONTEXT), min(line_end, hit.end + LINE_CONTEXT)
        line = data[lo:hi]
        if number not in pragma:
            pragma[number] = PRAGMA in data[line_start:line_end].lower()
        if pragma[number]:
            continue
        secret = data[hit.start : hit.end]
        if (number, secret) in seen:
            continue  # the same value twice on a line (password and its confirmation): once
        seen.add((number, secret))
        taken.setdefault(number, []).append((hit.start, hit.end))
        fingerprint = f"{path}:{hit.rule}:{number}"
        if fingerprint in allowlist:
            continue
        total += 1
        if len(findings) >= MAX_FINDINGS_PER_BLOB:
            continue
        others = []
        for s, e in spans[bisect.bisect_left(starts, lo - OVERLAP) :]:
            if s >= hi or len(others) >= 200:
                break
            if e > lo:
                others.append((s - lo, e - lo))
        text = redact.excerpt(line, hit.start - lo, hit.end - lo, hit.keep, others)
        message = f"Possible secret ({hit.rule}); allowlist key {fingerprint}"
        findings.append(Finding(path, number, hit.rule, text, message))
    findings.sort(key=lambda f: f.line)
    return BlobScan(findings, total)
