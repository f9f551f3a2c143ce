"""The secrets scanner's engine: rules as data, generic assignments, judges and redaction.

`checklists.scans.secrets` is the scanner (`run(target)`); this package holds what it
is made of, each module one job. Pure: no ORM, no Celery, no I/O beyond the rules file.
"""
