#!/usr/bin/env bash
# `make run`: migrate, seed the demo, then web + Celery worker (with beat) on an
# embedded broker (kombu's filesystem transport under var/broker): no server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# Demo mode turns DEBUG off by default: visitors get the project's own 404/403/500 pages.
export RELEASEGATE_DEMO=1
mkdir -p var/broker/queue var/broker/processed

$PY manage.py migrate --noinput
if [ ! -s .demo-password ]; then
  $PY -c 'import secrets; print(secrets.token_urlsafe(12))' > .demo-password
  chmod 600 .demo-password
fi
PASSWORD=$(cat .demo-password)
# `--password=`: a generated password may start with "-", which argparse would take for an option.
$PY manage.py seed_demo --password="$PASSWORD"

.venv/bin/celery -A releasegate worker --beat --loglevel INFO --concurrency 2 \
  --schedule var/celerybeat-schedule &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM

cat <<MSG

  releasegate is running on http://127.0.0.1:8000
  Sign in as alice (author), bob or dave (reviewers), carol (manager) or ci.
  Demo password for all of them: $PASSWORD   (kept in .demo-password)

MSG
# --insecure: runserver serves static/ itself while DEBUG is off (no collectstatic needed).
$PY manage.py runserver 127.0.0.1:8000 --insecure
