#!/usr/bin/env bash
# Reliability suite (docs/reliability.md): hostile input, workflow properties, page cache,
# and the live tests on PostgreSQL + Redis + real gunicorn and Celery workers: 200
# concurrent mutations, ten SIGKILLed workers, broker and database outages.
# Bounded: the whole leg is killed after 12 minutes. Ports 8107-8108 and Redis 6390 are
# this leg's own (a private redis-server it starts and stops); db 9 of the shared Redis.
set -euo pipefail
cd "$(dirname "$0")/../.."
export RELIABILITY_LIVE=1
export DATABASE_URL="${RELIABILITY_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/releasegate_reliability}"
export CELERY_BROKER_URL="${RELIABILITY_BROKER_URL:-redis://127.0.0.1:6379/9}"
timeout --signal=TERM --kill-after=30 720 \
  .venv/bin/python -m pytest -q -p no:cacheprovider -m reliability tests/reliability
