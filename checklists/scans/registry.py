"""The scanners: each one's name, the module whose `run(target)` decides it, and whether it reads
the repository. The one list of scanners: a checklist item names one as `scan:<name>`
(checklists/models/satisfied_by.py), the API and the team pages offer these.

A scanner's module is imported when a worker first runs it, so a web process that only checks
a name never loads a detection engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from .base import ScanResult, ScanTarget


@dataclass(frozen=True)
class Scanner:
    name: str
    module: str  # under checklists/scans/
    needs_repository: bool

    def run(self, target: ScanTarget) -> ScanResult:
        return import_module(f"{__package__}.{self.module}").run(target)


SCANNERS: dict[str, Scanner] = {
    s.name: s
    for s in (
        Scanner("secrets", "secrets", needs_repository=True),
        Scanner("mock_flag", "mock_flag", needs_repository=True),
        Scanner("env_credentials", "env_credentials", needs_repository=True),
        Scanner("debug_off", "debug_off", needs_repository=True),
        Scanner("tests", "tests_pass", needs_repository=False),
        Scanner("auth_probe", "auth_probe", needs_repository=False),
    )
}
NAMES = tuple(SCANNERS)


def get(name: str) -> Scanner:
    return SCANNERS[name]
