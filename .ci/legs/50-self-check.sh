#!/usr/bin/env bash
# releasegate passes its own checks (docs/self-check.md):
#   bandit      no medium or high finding in releasegate/ and checklists/
#   scan_self   its own secrets, mock_flag, env_credentials and debug_off scanners on HEAD
#   pip-audit   no known vulnerability in the pinned dependencies, except the ones listed
#               below, each explained in docs/known-limitations.md. A vulnerability found
#               fails the leg; a vulnerability service that cannot be reached is a loud
#               warning (the audit could not run), not a pass.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python

# Documented exceptions: --ignore-vuln IDs (none today).
IGNORED_VULNS=()

log() { printf '\n--- self-check: %s ---\n' "$*"; }

log "bandit (medium and high severity)"
.venv/bin/bandit -q -r releasegate checklists -ll -x checklists/migrations

log "releasegate's own repository scanners on HEAD"
$PY manage.py scan_self

log "pip-audit of constraints.txt"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
ignore_args=()
for id in "${IGNORED_VULNS[@]}"; do ignore_args+=(--ignore-vuln "$id"); done
set +e
timeout 600 .venv/bin/pip-audit -r constraints.txt --no-deps --disable-pip --progress-spinner off \
  -f json -o "$report" "${ignore_args[@]}" 2>"$report.err"
status=$?
set -e
$PY - "$report" "$status" "$report.err" <<'PYEOF'
import json
import sys

path, status, err_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with open(path) as handle:
        report = json.load(handle)
except (OSError, ValueError):
    errors = open(err_path).read().strip().splitlines()
    print("WARNING: pip-audit could not run (vulnerability service unreachable?); NOT AUDITED.")
    print("\n".join(errors[-5:]))
    sys.exit(0)
deps = report.get("dependencies", [])
vulnerable = [d for d in deps if d.get("vulns")]
skipped = [d for d in deps if d.get("skip_reason")]
for dep in vulnerable:
    for vuln in dep["vulns"]:
        fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
        print(f"VULNERABLE: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
if vulnerable:
    print("pip-audit found known vulnerabilities: upgrade the pin, or add --ignore-vuln with a line in docs/known-limitations.md")
    sys.exit(1)
audited = len(deps) - len(skipped)
if audited:
    print(f"pip-audit: {audited} of {len(deps)} pinned packages audited, no known vulnerability.")
else:
    print("WARNING: pip-audit audited NOTHING: the vulnerability service answered for no package.")
if skipped:
    print(f"WARNING: {len(skipped)} package(s) could not be audited (vulnerability service unreachable?):")
    print("WARNING:   " + ", ".join(sorted(d["name"] for d in skipped)))
PYEOF
rm -f "$report.err"

log "passed"
