"""Which function runs each scanner, and whether it needs the repository."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import auth_probe, debug_off, env_credentials, mock_flag, secrets
from . import tests_pass as tests
from .base import ScanResult, ScanTarget


@dataclass(frozen=True)
class Scanner:
    name: str
    run: Callable[[ScanTarget], ScanResult]
    needs_repository: bool


SCANNERS: dict[str, Scanner] = {
    s.name: s
    for s in (
        Scanner("secrets", secrets.run, True),
        Scanner("mock_flag", mock_flag.run, True),
        Scanner("env_credentials", env_credentials.run, True),
        Scanner("debug_off", debug_off.run, True),
        Scanner("tests", tests.run, False),
        Scanner("auth_probe", auth_probe.run, False),
    )
}


def get(name: str) -> Scanner:
    return SCANNERS[name]
