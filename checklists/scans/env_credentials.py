"""env_credentials: credential-like keys in production config come from the environment.

A literal value is reported by key and length only; the value itself is never shown.
"""

from __future__ import annotations

import re

from .base import Finding, ScanResult, ScanTarget
from .configfiles import load_configs

CREDENTIAL_KEY_RE = re.compile(
    r"(password|passwd|passphrase|pwd|secret|token|api_?key|apikey|access_?key|private_?key|"
    r"client_?secret|credentials?|auth_?key|signing_?key|encryption_?key|dsn|database_url|"
    r"db_url|broker_url|connection_string|conn_str)"
)
# Settings about credentials rather than credentials themselves.
NOT_A_CREDENTIAL_RE = re.compile(
    r"(_file|_path|_dir|_length|_len|_min|_max|_ttl|_expiry|_expires|_timeout|_lifetime|_age|_header|"
    r"_name|_type|_algorithm|_url_template|_validators|_hasher|_hashers|_enabled|_required|_rotation)$"
)
URL_WITH_PASSWORD_RE = re.compile(r"^[a-z][a-z0-9+.-]*://[^:/@\s]*:([^@\s]+)@", re.IGNORECASE)
PLACEHOLDER_RE = re.compile(
    r"^(<[^>]*>|\*+|x{3,}|changeme|change_me|todo|tbd|none|null|redacted)$", re.IGNORECASE
)


def _is_literal_credential(name: str, value) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return False
    text = str(value).strip()
    if not text or PLACEHOLDER_RE.match(text) or re.fullmatch(r"-?\d+(\.\d+)?", text):
        return False
    if name.endswith(("_url", "dsn", "_uri", "connection_string", "conn_str")) or "://" in text:
        match = URL_WITH_PASSWORD_RE.match(text)
        return bool(match) and not match.group(1).startswith("$")
    return True


def run(target: ScanTarget) -> ScanResult:
    configs = load_configs(target)
    findings = list(configs.problems)
    for entry in configs.entries:
        name = entry.name
        if entry.from_env or not CREDENTIAL_KEY_RE.search(name) or NOT_A_CREDENTIAL_RE.search(name):
            continue
        if _is_literal_credential(name, entry.value):
            findings.append(
                Finding(
                    entry.file,
                    entry.line,
                    "literal-credential",
                    f"{entry.key} = <literal, {len(str(entry.value))} characters, redacted>",
                    "A credential is written in the config instead of read from the environment.",
                )
            )
    return ScanResult.from_findings(findings, files=configs.files)
