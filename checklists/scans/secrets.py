"""secrets: no hardcoded secret in any tracked file.

Provider formats, generic assignments in every common syntax and structured detectors
(checklists/scans/secretscan/), run with RE2 so every rule is linear in its input.
Findings carry file, line, rule and a redacted excerpt in which no secret-looking value
survives; the secret itself never leaves the engine. Results are kept per (blob id,
rules version) through `target.secrets_cache`, so a new commit costs only its new blobs.
detect-secrets can add a second opinion (RELEASEGATE_SECRETS_SECOND_OPINION).
"""

from __future__ import annotations

from checklists.git.repo import RepoFile, Skipped

from .base import Finding, ScannerUnavailable, ScanResult, ScanTarget, glob_match  # noqa: F401
from .secretscan.cache import BlobCache, BlobEntry, MemoryBlobCache
from .secretscan.engine import HASHY_FILES, PRAGMA, scan_blob  # noqa: F401 - PRAGMA is API
from .secretscan.judge import shannon_entropy  # noqa: F401 - kept for callers of the old module
from .secretscan.redact import redact  # noqa: F401
from .secretscan.rules import load_rules

MAX_FINDINGS = 500
PUT_BATCH = 500


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


def blob_context(path: str, second_opinion: bool) -> str:
    """What besides its content decides a blob's findings: the kind of path, the second opinion."""
    return ("h" if glob_match(path, HASHY_FILES) else "") + ("d" if second_opinion else "")


def scan_entry(path: str, data: bytes, second_opinion: bool) -> BlobEntry:
    result = scan_blob(path, data, load_rules())
    findings = [(f.line, f.rule, f.excerpt) for f in result.findings]
    total = result.total
    if second_opinion:
        known = {line for line, _, _ in findings}
        extra = [(f.line, f.rule, f.excerpt) for f in _second_opinion(path, data) if f.line not in known]
        findings += extra
        total += len(extra)
    return BlobEntry(findings, total)


def run(target: ScanTarget) -> ScanResult:
    snap = target.snapshot
    if snap is None:
        raise ScannerUnavailable("No repository to read.")
    rules = load_rules()
    cache: BlobCache = target.secrets_cache or MemoryBlobCache()
    allow_paths = [*rules.allow_paths, *(a for a in target.secrets_allowlist if ":" not in a)]
    fingerprints = {a for a in target.secrets_allowlist if ":" in a}
    second_opinion = bool(target.options.get("second_opinion"))
    wanted = [f for f in snap.files if not glob_match(f.path, allow_paths)]
    keys = {f.path: (f.oid, blob_context(f.path, second_opinion)) for f in wanted}
    known = cache.get_many(sorted(set(keys.values())), rules.version)
    fresh: dict[tuple[str, str], BlobEntry] = {}
    scanned = scanned_bytes = 0
    for item, data in snap.read(_first_of_each_blob([f for f in wanted if keys[f.path] not in known], keys)):
        scanned += 1
        scanned_bytes += len(data)
        fresh[keys[item.path]] = scan_entry(item.path, data, second_opinion)
    binary = {s.path for s in snap.skipped if s.reason == "binary"}
    for path in binary & keys.keys():
        fresh.setdefault(keys[path], BlobEntry([], 0, binary=True))
    _remember(cache, fresh, rules.version)
    entries = {**known, **fresh}
    findings: list[Finding] = []
    total = 0
    for item in wanted:
        entry = entries.get(keys[item.path])
        if entry is None:
            continue
        if entry.binary:
            if item.path not in binary:  # known binary from an earlier scan: listed, not read again
                snap.skipped.append(Skipped(item.path, "binary"))
                binary.add(item.path)
            continue
        shown = [
            Finding(
                item.path,
                line,
                rule,
                excerpt,
                f"Possible secret ({rule}); allowlist key {item.path}:{rule}:{line}",
            )
            for line, rule, excerpt in entry.findings
        ]
        kept = [f for f in shown if f"{f.file}:{f.rule}:{f.line}" not in fingerprints]
        findings.extend(kept)
        total += entry.total - (len(shown) - len(kept))
    findings.sort(key=lambda f: (f.file, f.line or 0, f.rule))
    summary = {
        "files_scanned": scanned,
        "files_from_cache": sum(1 for f in wanted if keys[f.path] in known),
        "bytes_scanned": scanned_bytes,
        "rules": len(rules.rules),
        "rules_version": rules.version,
        "skipped": snap.skipped_summary(),
        "second_opinion": second_opinion,
        "findings_total": total,
    }
    cap = int(target.options.get("max_findings") or MAX_FINDINGS)
    if total > cap or len(findings) > cap:
        summary["findings_capped"] = True
        summary["findings_truncated"] = total  # the name earlier summaries used
    return ScanResult.from_findings(findings[:cap], **summary)


def _first_of_each_blob(items: list[RepoFile], keys: dict) -> list[RepoFile]:
    """Identical files (same blob, same kind of path) are read and scanned once."""
    seen: set = set()
    out = []
    for item in items:
        if keys[item.path] not in seen:
            seen.add(keys[item.path])
            out.append(item)
    return out


def _remember(cache: BlobCache, fresh: dict, version: str) -> None:
    items = list(fresh.items())
    for i in range(0, len(items), PUT_BATCH):
        cache.put_many(dict(items[i : i + PUT_BATCH]), version)
