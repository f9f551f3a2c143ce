"""gunicorn settings for releasegate's web process, from the environment (docs/configuration.md).

Run: gunicorn -c gunicorn.conf.py releasegate.wsgi
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# The classic sizing for sync workers: 2 x cores + 1, capped so a large host does not
# open more database connections than PostgreSQL allows (each worker holds one).
workers = int(os.environ.get("WEB_CONCURRENCY") or min(multiprocessing.cpu_count() * 2 + 1, 12))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak never becomes an outage.
max_requests = 1000
max_requests_jitter = 100
# Behind a reverse proxy that terminates TLS; it sets X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Django's logging (JSON in production, with the correlation id) covers requests;
# gunicorn's own error log goes to stderr, its access log is off by default.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
