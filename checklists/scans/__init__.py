"""Scanners: pure functions `run(target) -> ScanResult` (no ORM, no Celery); registry.py lists them."""
