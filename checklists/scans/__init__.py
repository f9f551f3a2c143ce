"""Scanners: pure functions `run(target) -> ScanResult`; see registry.py."""
