#!/usr/bin/env bash
# releasegate passes its own checklist: its secrets scanner finds nothing in its own HEAD.
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python -m checklists.scans .
