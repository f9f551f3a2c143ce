#!/usr/bin/env bash
# The HTTP API against a running server: the shared contract check (api_shape.py), then
# schemathesis over the OpenAPI schema with a pipeline-like token (no 5xx, responses
# match the schema). A fresh SQLite database with the demo data; nothing else is touched.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

PORT="${RELEASEGATE_API_PORT:-8101}"
BASE="http://127.0.0.1:${PORT}"
PY=.venv/bin/python
WORK="$(mktemp -d /tmp/releasegate-api-XXXXXX)"
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL="sqlite:///${WORK}/api.sqlite3"
export RELEASEGATE_DATA_DIR="${WORK}/var"
export RELEASEGATE_DEMO=1
export DEBUG=false
export ALLOWED_HOSTS=127.0.0.1,localhost
unset CELERY_BROKER_URL  # the embedded broker: scans stay queued, nothing needs a worker
mkdir -p "${RELEASEGATE_DATA_DIR}/broker/queue" "${RELEASEGATE_DATA_DIR}/broker/processed"

echo "--- database and demo data"
$PY manage.py migrate --noinput >"${WORK}/migrate.log" 2>&1 || { cat "${WORK}/migrate.log"; exit 1; }
# `--password=`: a generated password may start with "-", which argparse would take for an option.
$PY manage.py seed_demo --password="$($PY -c 'import secrets; print(secrets.token_urlsafe(18))')" >/dev/null
TOKEN="$($PY manage.py drf_create_token alice | awk '{print $3}')"
[ "${#TOKEN}" -eq 40 ] || { echo "could not create a token for alice"; exit 1; }
# The demo registered its repository for team payments; the contract check names it.
REPOSITORY="$($PY manage.py shell -v0 -c 'from checklists.models import Repository; print(Repository.objects.get(team__slug="payments").location)')"
[ -d "$REPOSITORY" ] || { echo "the demo registered no repository ($REPOSITORY)"; exit 1; }

echo "--- server on ${BASE}"
$PY manage.py runserver "127.0.0.1:${PORT}" --noreload --insecure >"${WORK}/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 60); do
  curl -s -o /dev/null "${BASE}/api/v1/releases/" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "${WORK}/server.log"; exit 1; }
  sleep 0.5
done

status=0
echo "--- contract shape (shared/contract/api_shape.py)"
$PY "$(git rev-parse --show-toplevel)/../shared/contract/api_shape.py" "$BASE" "$TOKEN" "$REPOSITORY" || status=1

echo "--- schemathesis"
# Real release ids (every status), item keys and commits of the demo data, so that the
# generated requests reach the workflow instead of stopping at a 404.
$PY manage.py shell -v0 -c '
import json
from checklists.models import ChecklistItem, Release
ids = list(Release.objects.values_list("pk", flat=True))
keys = sorted(set(ChecklistItem.objects.values_list("key", flat=True)))
commits = sorted(set(Release.objects.values_list("commit", flat=True)))
print("[dictionaries.release_ids]\nvalues = %s" % json.dumps(ids))
print("[dictionaries.item_keys]\nvalues = %s" % json.dumps(keys))
print("[dictionaries.commits]\nvalues = %s" % json.dumps(commits))
print("[parameters]")
print("\"path.id\" = { dictionary = \"release_ids\", probability = 0.8 }")
print("\"path.key\" = { dictionary = \"item_keys\", probability = 0.8 }")
print("\"query.commit\" = { dictionary = \"commits\", probability = 0.5 }")
' >"${WORK}/schemathesis.toml"
# Bounded: a few examples per operation and a time budget, so the leg stays under 5 minutes.
# Run from the scratch folder: schemathesis keeps its cache in the working directory.
ROOT="$(pwd)"
cd "$WORK"
"${ROOT}/.venv/bin/schemathesis" --config-file "${WORK}/schemathesis.toml" run "${BASE}/api/v1/schema/" \
  -H "Authorization: Token ${TOKEN}" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
  --max-time "${SCHEMATHESIS_MAX_TIME:-180}" \
  --workers 1 \
  --seed 4242 \
  --generation-database none \
  --request-timeout 20 \
  --no-color \
  --report junit --report-dir "${WORK}/report" || status=1

if [ "$status" -ne 0 ]; then
  echo "--- server log (last 60 lines)"
  grep -v django_guid "${WORK}/server.log" | grep -B2 -A30 Traceback | tail -n 120 || true
  grep -v django_guid "${WORK}/server.log" | tail -n 40
fi
exit "$status"
