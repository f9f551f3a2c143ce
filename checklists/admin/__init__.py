"""Django admin, one module per aggregate. Teams, members and checklist versions are edited here
directly; everything that changes a release goes through checklists/workflow/, so its rules hold
here too. Importing a module registers its models (Django imports this package at start-up)."""

from . import (  # noqa: F401 - each module registers its models
    checklist_templates,
    integrations,
    logs,
    releases,
    repositories,
    scans,
    teams,
    webhooks,
)
