"""secrets: no hardcoded secret in any tracked file.

A rule set of known token formats kept as data (secret_rules.toml), run on bytes with a
keyword prefilter per line and an entropy floor per rule. Findings carry file, line,
rule and a redacted excerpt; the secret itself never leaves this module.
detect-secrets can add a second opinion (RELEASEGATE_SECRETS_SECOND_OPINION).
"""

from __future__ import annotations

import bisect
import math
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .base import Finding, ScannerUnavailable, ScanResult, ScanTarget, glob_match

RULES_FILE = Path(__file__).with_name("secret_rules.toml")
PRAGMA = b"releasegate: allow"
MAX_EXCERPT = 120
MAX_FINDINGS = 500


@dataclass(frozen=True)
class Rule:
    id: str
    regex: re.Pattern
    group: int
    keywords: tuple[bytes, ...]
    entropy: float
    keep: int
    paths: tuple[str, ...]
    allow: tuple[re.Pattern, ...]


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    allow_values: tuple[re.Pattern, ...]
    allow_paths: tuple[str, ...]


def _compile(pattern: str) -> re.Pattern:
    return re.compile(pattern.encode())


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> RuleSet:
    data = tomllib.loads(path.read_text())
    rules = []
    for spec in data["rules"]:
        keywords = tuple(k.lower().encode() for k in spec.get("keywords", []))
        rules.append(
            Rule(
                id=spec["id"],
                regex=_compile(spec["regex"]),
                group=int(spec.get("group", 0)),
                keywords=keywords,
                entropy=float(spec.get("entropy", 0)),
                keep=int(spec.get("keep", 0)),
                paths=tuple(spec.get("paths", [])),
                allow=tuple(_compile(p) for p in spec.get("allow", [])),
            )
        )
    allow = data.get("allowlist", {})
    return RuleSet(
        tuple(rules),
        tuple(_compile(p) for p in allow.get("values", [])),
        tuple(allow.get("paths", [])),
    )


def shannon_entropy(data: bytes) -> float:
    if not data:
        return 0.0
    counts = Counter(data)
    total = len(data)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def redact(secret: bytes, keep: int) -> str:
    shown = secret[: min(keep, len(secret))] if len(secret) >= 12 or keep >= len(secret) else b""
    if shown == secret:
        return shown.decode("utf-8", "replace")
    return shown.decode("utf-8", "replace") + "*" * 8


TOKEN_RE = re.compile(r"[A-Za-z0-9+/=_.\-]{8,}")


def _mask_tokens(text: str) -> str:
    """Hide token-like runs (digits or mixed case) in the context: another secret may sit there."""

    def mask(match: re.Match) -> str:
        token = match.group(0)
        has_digit = any(c.isdigit() for c in token)
        mixed = any(c.islower() for c in token) and any(c.isupper() for c in token)
        return "****" if has_digit or mixed else token

    return TOKEN_RE.sub(mask, text)


def excerpt(line: bytes, start: int, end: int, secret: bytes, keep: int) -> str:
    """The line around the match with the secret replaced; bounded length."""
    before = _mask_tokens(line[max(0, start - 40) : start].decode("utf-8", "replace").lstrip())
    after = _mask_tokens(line[end : end + 40].decode("utf-8", "replace").rstrip())
    return f"{before}{redact(secret, keep)}{after}"[:MAX_EXCERPT]


def _lines_with_keyword(lowered: bytes, keyword: bytes) -> set[int]:
    """Start offsets of the lines that contain `keyword`."""
    starts: set[int] = set()
    i = lowered.find(keyword)
    while i != -1:
        starts.add(lowered.rfind(b"\n", 0, i) + 1)
        end = lowered.find(b"\n", i)
        if end == -1:
            break
        i = lowered.find(keyword, end)
    return starts


def scan_blob(path: str, data: bytes, rules: RuleSet, allowlist: list[str] = ()) -> list[Finding]:
    """Every rule over one file's bytes; returns redacted findings."""
    lowered = data.lower()  # bytes.lower() keeps offsets: ASCII only
    newlines: list[int] | None = None
    findings: list[Finding] = []
    seen: set[tuple[int, bytes]] = set()
    by_keyword: dict[bytes, set[int]] = {}  # rules share keywords: find each one once per file
    for rule in rules.rules:
        if rule.paths and not glob_match(path, rule.paths):
            continue
        starts: set[int] = set()
        for keyword in rule.keywords:
            if keyword not in by_keyword:
                by_keyword[keyword] = _lines_with_keyword(lowered, keyword)
            starts |= by_keyword[keyword]
        for start in sorted(starts):
            end = data.find(b"\n", start)
            line = data[start : end if end != -1 else len(data)]
            if PRAGMA in line.lower():
                continue
            for match in rule.regex.finditer(line):
                secret = match.group(rule.group)
                if not secret or shannon_entropy(secret) < rule.entropy:
                    continue
                if any(a.search(secret) for a in rule.allow) or any(
                    a.search(secret) for a in rules.allow_values
                ):
                    continue
                if newlines is None:
                    newlines = [m.start() for m in re.finditer(b"\n", data)]
                number = bisect.bisect_right(newlines, start) + 1
                if (number, secret) in seen:
                    continue  # two rules on one secret: report it once
                seen.add((number, secret))
                fingerprint = f"{path}:{rule.id}:{number}"
                if fingerprint in allowlist:
                    continue
                findings.append(
                    Finding(
                        path,
                        number,
                        rule.id,
                        excerpt(line, match.start(rule.group), match.end(rule.group), secret, rule.keep),
                        f"Possible secret ({rule.id}); allowlist key {fingerprint}",
                    )
                )
    return findings


def _second_opinion(path: str, data: bytes) -> list[Finding]:
    try:
        from detect_secrets.core.scan import _process_line_based_plugins
        from detect_secrets.settings import default_settings
    except ImportError as exc:  # pragma: no cover - it is a pinned dependency
        raise ScannerUnavailable("detect-secrets is not installed.") from exc
    lines = list(enumerate(data.decode("utf-8", "replace").splitlines(), 1))
    out = []
    with default_settings():
        for found in _process_line_based_plugins(lines=lines, filename=path):
            out.append(
                Finding(path, found.line_number, f"detect-secrets:{found.type}", "<redacted>",
                        "Reported by detect-secrets (second opinion).")
            )  # fmt: skip
    return out


def run(target: ScanTarget) -> ScanResult:
    snap = target.snapshot
    if snap is None:
        raise ScannerUnavailable("No repository to read.")
    rules = load_rules()
    allow_paths = [*rules.allow_paths, *(a for a in target.secrets_allowlist if ":" not in a)]
    fingerprints = [a for a in target.secrets_allowlist if ":" in a]
    second_opinion = bool(target.options.get("second_opinion"))
    findings: list[Finding] = []
    scanned = scanned_bytes = 0
    wanted = [f for f in snap.files if not glob_match(f.path, allow_paths)]
    for item, data in snap.read(wanted):
        scanned += 1
        scanned_bytes += len(data)
        findings.extend(scan_blob(item.path, data, rules, fingerprints))
        if second_opinion:
            known = {(f.file, f.line) for f in findings}
            findings.extend(f for f in _second_opinion(item.path, data) if (f.file, f.line) not in known)
    findings.sort(key=lambda f: (f.file, f.line or 0, f.rule))
    summary = {
        "files_scanned": scanned,
        "bytes_scanned": scanned_bytes,
        "rules": len(rules.rules),
        "skipped": snap.skipped_summary(),
        "second_opinion": second_opinion,
    }
    if len(findings) > MAX_FINDINGS:
        summary["findings_truncated"] = len(findings)
    return ScanResult.from_findings(findings[:MAX_FINDINGS], **summary)
