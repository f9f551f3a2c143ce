"""What only a Celery worker does: run scans, read commit ranges, sweep what was lost."""
