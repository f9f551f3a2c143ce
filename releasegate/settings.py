"""releasegate settings, read from the environment only (see docs/configuration.md)."""

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django_guid.integrations import CeleryIntegration

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    """The variable's value, or the default when it is unset or blank."""
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    refuse(f"{name}={raw!r} is not a boolean: set it to true or false")


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in env_str(name, default).split(",") if part.strip()]


def refuse(message: str):
    """Stop the process with one line that says what to set."""
    sys.stderr.write(f"releasegate: {message}\n")
    raise SystemExit(2)


def production_problems(environ) -> list[str]:
    """Return what keeps these environment variables from a safe production start."""
    problems = []
    if not environ.get("SECRET_KEY", "").strip():
        problems.append("RELEASEGATE_ENV=production needs SECRET_KEY: set SECRET_KEY to a long random value")
    if environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}:
        problems.append("RELEASEGATE_ENV=production refuses DEBUG on: unset DEBUG or set DEBUG=false")
    if environ.get("RELEASEGATE_DEMO", "").strip():
        problems.append("RELEASEGATE_ENV=production refuses demo mode: unset RELEASEGATE_DEMO")
    if environ.get("RELEASEGATE_ALLOW_LOCAL_REPOSITORIES", "").strip().lower() in {"1", "true", "yes", "on"}:
        problems.append(
            "RELEASEGATE_ENV=production refuses local repositories: unset RELEASEGATE_ALLOW_LOCAL_REPOSITORIES"
        )
    if environ.get("RELEASEGATE_GIT_TOKEN", "").strip():
        problems.append(
            "RELEASEGATE_GIT_TOKEN is no longer read (it was given to every host): register the token "
            "with each repository (docs/configuration.md) and unset it"
        )
    return problems


RELEASEGATE_ENV = env_str("RELEASEGATE_ENV", "development")
if RELEASEGATE_ENV not in {"development", "production"}:
    refuse(f"RELEASEGATE_ENV={RELEASEGATE_ENV!r} is unknown: set it to development or production")
PRODUCTION = RELEASEGATE_ENV == "production"

if PRODUCTION and (problems := production_problems(os.environ)):
    refuse(problems[0])


def _development_secret_key() -> str:
    # Generated once and kept out of git (.gitignore), so sessions survive restarts.
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY") or _development_secret_key()
RELEASEGATE_DEMO = env_bool("RELEASEGATE_DEMO", default=False)
# The demo is shown to visitors: its 404/403/500 are the project's pages, not Django's
# technical ones (DEBUG=true still gives a developer those).
DEBUG = env_bool("DEBUG", default=not PRODUCTION and not RELEASEGATE_DEMO)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
DATA_DIR = Path(env_str("RELEASEGATE_DATA_DIR") or BASE_DIR / "var")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_guid",
    "axes",
    "checklists",
]

MIDDLEWARE = [
    # CR, LF and NUL in headers become spaces; a malformed X-Request-ID is dropped before
    # django-guid reads it (a new id is made).
    "checklists.web.middleware.RequestHeadersMiddleware",
    "django_guid.middleware.guid_middleware",
    # One access line per request, with the correlation id, status, duration and user id.
    "checklists.web.middleware.AccessLogMiddleware",
    # A view that loses the database answers 503 with Retry-After, not 500.
    "checklists.web.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files from gunicorn (compressed, cache headers), no CDN.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "releasegate.urls"
WSGI_APPLICATION = "releasegate.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN, so two writers queue
    # instead of failing, and select_for_update's no-op on SQLite stays safe.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Django binds values on the client and never prepares; the few statements every request
    # runs (the gate, the release read) ask psycopg to prepare them on the server
    # (checklists/policy/prepared.py `fetch`), which a threshold of None would forbid.
    # RELEASEGATE_PG_PREPARE=0 behind a pooler that cannot keep prepared statements.
    if env_bool("RELEASEGATE_PG_PREPARE", True):
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache for every process of an installation: Redis in production (CACHE_URL=redis://...),
# each process's own memory when unset (one machine, or tests).
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        refuse(f"CACHE_URL={CACHE_URL!r} is not a redis:// URL")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "releasegate",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "checklists:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Uploads: JUnit reports may be up to 10 MB; anything bigger is refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 11 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 11 * 1024 * 1024
RELEASEGATE_MAX_REPORT_BYTES = 10 * 1024 * 1024

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- HTTP API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "checklists.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "releasegate API",
    "DESCRIPTION": "Checklists, scans, sign-offs and the deploy gate.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ReleaseStatusEnum": "checklists.models.Release.Status",
        "ScanStatusEnum": "checklists.models.ScanRun.Status",
        "ShippingStateEnum": ["pending", "ready", "unreadable"],
        "ItemStateEnum": "checklists.models.ChecklistItem.State",
    },
}

# --- Celery ---------------------------------------------------------------
# With no CELERY_BROKER_URL the app uses kombu's filesystem transport in DATA_DIR:
# an embedded broker that needs no server. The database row of a ScanRun is the
# source of truth; a periodic sweep re-enqueues what a broker lost.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = DATA_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
else:
    # Redis redelivers an unacknowledged task after this many seconds; task time
    # limits stay well below it so a live task is never delivered twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# A request made while the broker is down fails fast: its ScanRun row stays `queued`
# and the sweep below sends it once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Scans (checklists/tasks.py, docs/scans.md) -----------------------------
RELEASEGATE_SWEEP_SECONDS = float(env_str("RELEASEGATE_SWEEP_SECONDS", "10"))
# A running scan whose heartbeat is older than this is presumed dead and re-queued.
# Heartbeats come every STALE/4 seconds, so a killed worker is noticed within STALE + SWEEP.
RELEASEGATE_SCAN_STALE_SECONDS = float(env_str("RELEASEGATE_SCAN_STALE_SECONDS", "30"))
# A queued run no worker took for this long is sent to the broker again (it was lost).
RELEASEGATE_SCAN_RESEND_SECONDS = float(env_str("RELEASEGATE_SCAN_RESEND_SECONDS", "120"))
RELEASEGATE_SCAN_MAX_ATTEMPTS = int(env_str("RELEASEGATE_SCAN_MAX_ATTEMPTS", "3"))
RELEASEGATE_SCAN_SOFT_TIME_LIMIT = int(env_str("RELEASEGATE_SCAN_SOFT_TIME_LIMIT", "240"))
RELEASEGATE_SCAN_MAX_FILE_BYTES = int(env_str("RELEASEGATE_SCAN_MAX_FILE_BYTES", str(5 * 1024 * 1024)))
RELEASEGATE_SCAN_MAX_TOTAL_BYTES = int(env_str("RELEASEGATE_SCAN_MAX_TOTAL_BYTES", str(1024 * 1024 * 1024)))
RELEASEGATE_SECRETS_SECOND_OPINION = env_bool("RELEASEGATE_SECRETS_SECOND_OPINION", default=False)
# --- Registered repositories (checklists/git/locations.py, docs/configuration.md) ------
# Git hosts repositories may be registered on: names, or *.example.com for subdomains.
RELEASEGATE_GIT_HOSTS = env_list("RELEASEGATE_GIT_HOSTS", "")
# Of those, the hosts that may resolve to private (RFC 1918, ULA) addresses: an on-premises
# git server. Loopback, link-local and metadata addresses are refused whatever this says.
RELEASEGATE_GIT_PRIVATE_HOSTS = env_list("RELEASEGATE_GIT_PRIVATE_HOSTS", "")
# Absolute local paths as repositories: the demo and the tests only; production refuses it.
RELEASEGATE_ALLOW_LOCAL_REPOSITORIES = env_bool(
    "RELEASEGATE_ALLOW_LOCAL_REPOSITORIES", default=RELEASEGATE_DEMO
)
# known_hosts for ssh:// repositories (host keys are always checked).
RELEASEGATE_GIT_KNOWN_HOSTS = env_str("RELEASEGATE_GIT_KNOWN_HOSTS") or str(DATA_DIR / "known_hosts")
# Seconds one git fetch may take (a host that accepts connections and never answers).
RELEASEGATE_GIT_TIMEOUT = int(env_str("RELEASEGATE_GIT_TIMEOUT", "120"))
RELEASEGATE_WEBHOOK_MAX_ATTEMPTS = int(env_str("RELEASEGATE_WEBHOOK_MAX_ATTEMPTS", "6"))
RELEASEGATE_WEBHOOK_TIMEOUT = float(env_str("RELEASEGATE_WEBHOOK_TIMEOUT", "10"))
RELEASEGATE_WEBHOOK_BACKOFF_SECONDS = float(env_str("RELEASEGATE_WEBHOOK_BACKOFF_SECONDS", "30"))
# Who may open a team on /teams/new/ (and become its first owner): everyone signed in, or staff.
RELEASEGATE_TEAM_CREATION = env_str("RELEASEGATE_TEAM_CREATION", "everyone")
if RELEASEGATE_TEAM_CREATION not in {"everyone", "staff"}:
    refuse(f"RELEASEGATE_TEAM_CREATION={RELEASEGATE_TEAM_CREATION!r} is unknown: set it to everyone or staff")
# --- Integrations: GitHub App, GitLab, Slack (checklists/integrations/, docs/integrations.md) ---
# Each is off until its secret is set. The API URLs are trusted configuration: they may point
# anywhere (GitHub Enterprise, a self-managed GitLab); URLs that a payload names are checked
# against them. Outbound calls retry like webhooks (RELEASEGATE_WEBHOOK_* above).
GITHUB_APP_ID = env_str("GITHUB_APP_ID")
GITHUB_APP_PRIVATE_KEY = env_str("GITHUB_APP_PRIVATE_KEY")  # PEM text, or the path of a PEM file
GITHUB_APP_WEBHOOK_SECRET = env_str("GITHUB_APP_WEBHOOK_SECRET")
RELEASEGATE_GITHUB_API_URL = env_str("RELEASEGATE_GITHUB_API_URL", "https://api.github.com").rstrip("/")
# The host of the repositories' locations (github.com, or your GitHub Enterprise host).
RELEASEGATE_GITHUB_HOST = env_str("RELEASEGATE_GITHUB_HOST")
RELEASEGATE_GITLAB_API_URL = env_str("RELEASEGATE_GITLAB_API_URL", "https://gitlab.com/api/v4").rstrip("/")
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET")
RELEASEGATE_SLACK_API_URL = env_str("RELEASEGATE_SLACK_API_URL", "https://slack.com/api/")
# Slack's host for incoming webhooks and response_url: nothing else receives those posts.
RELEASEGATE_SLACK_HOOKS_URL = env_str("RELEASEGATE_SLACK_HOOKS_URL", "https://hooks.slack.com/")
CELERY_BEAT_SCHEDULE = {
    "sweep-scans": {"task": "checklists.tasks.sweep_scans", "schedule": RELEASEGATE_SWEEP_SECONDS},
    "sweep-integrations": {
        "task": "checklists.tasks.sweep_integrations",
        "schedule": RELEASEGATE_SWEEP_SECONDS,
    },
}

# --- Email ----------------------------------------------------------------
# Without EMAIL_HOST, emails are printed by the worker (console backend), and password
# reset is off: its link would be printed too (checklists/identity/accounts.py).
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(env_str("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
    EMAIL_TIMEOUT = 20
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "releasegate@localhost")
# Links in emails start with this (scheme and host of the web front end).
RELEASEGATE_BASE_URL = env_str("RELEASEGATE_BASE_URL", "http://localhost:8000")

# --- Sign-in: passwords and the company's identity provider (docs/identity.md) ------------
# RELEASEGATE_PASSWORD_LOGIN=0 turns local passwords off: pages and the admin accept only the
# provider's sign-in (API tokens are unchanged).
RELEASEGATE_PASSWORD_LOGIN = env_bool("RELEASEGATE_PASSWORD_LOGIN", default=True)
OIDC_ISSUER = env_str("OIDC_ISSUER").rstrip("/")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_GROUP_ROLES = env_str("OIDC_GROUP_ROLES")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "your company account")
OIDC_TIMEOUT = float(env_str("OIDC_TIMEOUT", "10"))
if OIDC_ISSUER and not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
    refuse("OIDC_ISSUER is set: set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET too")
if OIDC_ISSUER and PRODUCTION and not OIDC_ISSUER.startswith("https://"):
    refuse(f"OIDC_ISSUER={OIDC_ISSUER!r}: production needs an https:// issuer")
if not RELEASEGATE_PASSWORD_LOGIN and not OIDC_ISSUER:
    refuse("RELEASEGATE_PASSWORD_LOGIN=0 leaves no way to sign in: set OIDC_ISSUER (and its client) first")


def _group_grants(text: str):
    from checklists.policy.group_roles import MappingError, parse

    try:
        return parse(text)
    except MappingError as exc:
        refuse(f"OIDC_GROUP_ROLES: {exc}")


OIDC_GROUP_ROLE_GRANTS = _group_grants(OIDC_GROUP_ROLES)
# mozilla-django-oidc's own names; the endpoints come from discovery (checklists/identity/backend.py).
OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = OIDC_CLIENT_SECRET
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_TOKEN_USE_BASIC_AUTH = env_bool("OIDC_TOKEN_USE_BASIC_AUTH", default=True)
OIDC_CREATE_USER = True
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "login"

# --- Logging --------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "correlation_id": {"()": "django_guid.log_filters.CorrelationId"},
        "celery_tracing": {"()": "django_guid.integrations.celery.log_filters.CeleryTracing"},
        # No log line carries a password-reset token (checklists/identity/accounts.py).
        "hide_reset_tokens": {"()": "checklists.web.middleware.HideResetTokens"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": (
                "%(asctime)s %(levelname)s %(correlation_id)s %(celery_parent_id)s %(celery_current_id)s"
                " %(name)s %(message)s"
            ),
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if PRODUCTION else "text",
            "filters": ["correlation_id", "celery_tracing", "hide_reset_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # django-guid narrates every header it reads or sets at INFO; only its problems matter.
        "django_guid": {"level": "WARNING"},
        # releasegate.access writes the one line per request; runserver's own would be a second.
        "django.server": {"level": "WARNING"},
    },
}

# The request's X-Request-ID (or a new id) travels in a header of every task the
# request enqueues; the worker sets it before the task runs, so its log lines carry it.
# use_django_logging: the worker logs through LOGGING above, not Celery's own format.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "RETURN_HEADER": True,
    "VALIDATE_GUID": False,
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True, log_parent=True)],
}

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    # Health checks of containers and load balancers call gunicorn over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # pages send the token from the template (hx-headers), never from JS
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Content-Security-Policy (django-csp 4) ---------------------------------------
# Every script and style is a file under static/ (no CDN, no inline code), so the
# policy needs nothing beyond 'self'; data: images are Bootstrap's inline SVG icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Login lockout (django-axes) ----------------------------------------------------
# Five wrong passwords for one username from one address lock that pair for 15
# minutes (a 429 page); a success resets the count. Token-authenticated API calls
# never pass through a password check, so they are not counted.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Passwords (unless RELEASEGATE_PASSWORD_LOGIN=0), then the company's provider (if configured).
    *(["django.contrib.auth.backends.ModelBackend"] if RELEASEGATE_PASSWORD_LOGIN else []),
    *(["checklists.identity.backend.CompanyOIDCBackend"] if OIDC_ISSUER else []),
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The user name axes records, cut to its column: a longer one was a 500 on PostgreSQL.
AXES_USERNAME_CALLABLE = "checklists.identity.accounts.axes_username"
# Failed logins and lockouts are still logged; this only drops the start-up banner that
# every manage.py command would print.
AXES_VERBOSE = False
