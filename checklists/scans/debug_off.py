"""debug_off: production config has no DEBUG=true and no debug/trace log level."""

from __future__ import annotations

import re

from .base import Finding, ScanResult, ScanTarget
from .configfiles import load_configs, show, truthy

DEBUG_KEY_RE = re.compile(r"(^|_)debug(_mode|_enabled)?$|^debug")
LEVEL_KEY_RE = re.compile(r"(^|_)(log_?level|level|loglevel|verbosity|log)$")
NOISY_LEVELS = {"debug", "trace", "all", "verbose", "finest", "finer", "silly"}


def run(target: ScanTarget) -> ScanResult:
    configs = load_configs(target)
    findings = list(configs.problems)
    for entry in configs.entries:
        name = entry.name
        if DEBUG_KEY_RE.search(name) and truthy(entry.value):
            findings.append(
                Finding(
                    entry.file, entry.line, "debug-on", show(entry), "Debug mode is on in production config."
                )
            )
        elif (
            LEVEL_KEY_RE.search(name)
            and isinstance(entry.value, str)
            and entry.value.strip().strip("'\"").lower() in NOISY_LEVELS
        ):
            findings.append(
                Finding(entry.file, entry.line, "debug-log-level", show(entry),
                        "The log level is debug/trace in production config.")
            )  # fmt: skip
    return ScanResult.from_findings(findings, files=configs.files)
