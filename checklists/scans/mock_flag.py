"""mock_flag: no mock/fake/stub/sandbox switch turned on in production config."""

from __future__ import annotations

import re

from .base import Finding, ScanResult, ScanTarget
from .configfiles import load_configs, show, truthy

MOCK_WORD_RE = re.compile(r"(^|_)(mock|mocked|mocks|fake|fakes|stub|stubs|stubbed|sandbox|dummy)(_|$)")
MODE_KEY_RE = re.compile(r"(^|_)(mode|backend|env|environment|provider|gateway|client|driver)$")
MOCK_VALUE_RE = re.compile(r"^(mock|mocked|fake|stub|stubbed|sandbox|dummy)$", re.IGNORECASE)


def run(target: ScanTarget) -> ScanResult:
    configs = load_configs(target)
    findings = list(configs.problems)
    for entry in configs.entries:
        name = entry.name
        flag_on = MOCK_WORD_RE.search(name) and truthy(entry.value)
        mode_mocked = (
            MODE_KEY_RE.search(name)
            and isinstance(entry.value, str)
            and MOCK_VALUE_RE.match(entry.value.strip())
        )
        if flag_on or mode_mocked:
            findings.append(
                Finding(entry.file, entry.line, "mock-flag-on", show(entry),
                        "A mock/fake/stub/sandbox switch is on in production config.")
            )  # fmt: skip
    return ScanResult.from_findings(findings, files=configs.files)
