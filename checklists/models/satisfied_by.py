"""How a checklist item is satisfied: the one declaration of the `satisfied_by` format.

    manual           a person ticks it, optionally with evidence
    signoff          the required approvals, from reviewers who did not author the release
    field:<field>    a field of the release is filled in (FIELDS)
    scan:<scanner>   a scan passes on the release's commit (checklists/scans/registry.py)

Checklist versions (TemplateItem) and releases' copies (ChecklistItem) store it as text;
everything that reads or writes it, or filters items by it, goes through here.
"""

from __future__ import annotations

from ..scans.registry import NAMES as SCANNERS

MANUAL = "manual"
SIGNOFF = "signoff"
FIELD = "field"
SCAN = "scan"
FIELDS = ("rollback_plan", "deployment_steps", "versions", "known_limitations")
# Never skipped or waived, on any release.
NEVER_WAIVABLE = (SIGNOFF,)
# Several items of one checklist may share these; each scan and the sign-off decide one item.
SHAREABLE = (MANUAL, FIELD)


def scan(scanner: str) -> str:
    return f"{SCAN}:{scanner}"


def field(name: str) -> str:
    return f"{FIELD}:{name}"


def kind(value: str) -> str:
    """manual, signoff, field or scan."""
    return value.partition(":")[0]


def argument(value: str) -> str:
    """The field or scanner a `field:` or `scan:` item names; empty for the others."""
    return value.partition(":")[2]


def is_valid(value: str) -> bool:
    if kind(value) in (MANUAL, SIGNOFF):
        return argument(value) == ""
    return (kind(value) == FIELD and argument(value) in FIELDS) or (
        kind(value) == SCAN and argument(value) in SCANNERS
    )


def choices() -> list[tuple[str, str]]:
    """Every value, with how a person reads it (the team's checklist page)."""
    return [
        (MANUAL, "a person ticks it"),
        (SIGNOFF, "the required approvals"),
        *[(field(f), f"the release's {f.replace('_', ' ')}") for f in FIELDS],
        *[(scan(s), f"the {s} scan") for s in SCANNERS],
    ]
