"""Django settings, from the environment, with a working embedded default (SQLite under data/).

Every `ESCALADE_*` variable is read here and nowhere else (the README lists them all); other modules
read `django.conf.settings`. Importing this module changes nothing on disk: the data directory is
made by the `ops` app when Django starts. Tests use `tests/settings.py`, which imports this one.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}: expected 1/0 (true/false), got {value!r}")


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a number, got {value!r}") from None


def env_rate(name: str, default: str) -> tuple[int, int]:
    """"COUNT/SECONDS", e.g. "30/600": at most COUNT in any fixed window of SECONDS."""
    value = os.environ.get(name) or default
    try:
        count, seconds = (int(part) for part in value.split("/"))
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected COUNT/SECONDS (e.g. 30/600), got {value!r}") from None
    if count < 1 or seconds < 1:
        raise ImproperlyConfigured(f"{name}: COUNT and SECONDS must be at least 1, got {value!r}")
    return count, seconds


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
DATA_DIR = Path(env("ESCALADE_DATA_DIR") or PROJECT_DIR / "data")


def _statement_options(options: dict[str, object]) -> dict[str, object]:
    """Server-side binding and prepared statements unless the URL says otherwise: planning an
    incident's read (four tables joined) costs more than running it (EXPLAIN ANALYZE at a million
    incidents: 1.9 ms against 0.3 ms), and a statement psycopg has prepared on a kept connection is
    not planned again. `?prepare_threshold=none` for a pooler in transaction mode (statements are
    prepared per server connection), `?server_side_binding=false` for Django's default."""
    binding = str(options.get("server_side_binding", "true")).lower()
    threshold = str(options.get("prepare_threshold", "5")).lower()
    if binding not in ("true", "false") or not (threshold == "none" or threshold.isdigit()):
        raise ImproperlyConfigured(
            "ESCALADE_DATABASE_URL: server_side_binding takes true or false, prepare_threshold a number or none")
    return {"server_side_binding": binding == "true", "prepare_threshold": None if threshold == "none" else int(threshold)}


def database_from_url(url: str) -> dict[str, object]:
    """sqlite:///path/to/file.sqlite3, or postgresql://user:password@host:port/name."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        name = path[1:] if path.startswith("//") else path  # sqlite:////abs and sqlite:///rel
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name or str(DATA_DIR / "escalade.sqlite3"),
            # One writer at a time, waiting rather than failing, so web and worker can share a file.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    if parsed.scheme in ("postgres", "postgresql"):
        options: dict[str, object] = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        options.update(_statement_options(options))
        return {
            "ENGINE": "escalade.database",  # Django's, with a health check without a round trip
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(f"ESCALADE_DATABASE_URL: unsupported scheme {parsed.scheme!r}")


# Production is the default: development (a known key, local hosts, plain HTTP) only when asked for
# with ESCALADE_DEV=1, as `make demo` does.
DEBUG = env_bool("ESCALADE_DEBUG", False)
DEV = env_bool("ESCALADE_DEV", False)
# In production a missing key stops Django's start (see ops/apps.py); reading these settings for the
# database-free commands (`escalade evaluate`, `policy`) never needs it.
SECRET_KEY = env("ESCALADE_SECRET_KEY") or ("escalade-development-only-not-secret" if DEBUG or DEV else "")
# No wildcard: a forged Host header must not choose the addresses written into links and redirects.
ALLOWED_HOSTS = env_list("ESCALADE_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEV else "")
CSRF_TRUSTED_ORIGINS = env_list("ESCALADE_CSRF_TRUSTED_ORIGINS")

# HTTPS in production (behind a reverse proxy that terminates TLS, say so with ESCALADE_BEHIND_PROXY=1).
SECURE_SSL_REDIRECT = env_bool("ESCALADE_SSL_REDIRECT", not DEV)
# A load balancer probes health over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = int(env_float("ESCALADE_HSTS_SECONDS", 0 if DEV else 365 * 24 * 3600))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("ESCALADE_HSTS_INCLUDE_SUBDOMAINS", not DEV)
SECURE_HSTS_PRELOAD = env_bool("ESCALADE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("ESCALADE_SECURE_COOKIES", not DEV)
SESSION_COOKIE_HTTPONLY = True
if env_bool("ESCALADE_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS preload is a commitment to the browsers' list that an operator makes, not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Content-Security-Policy (Django's own): scripts, styles, images and forms from this site only.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
BASE_URL = env("ESCALADE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

DATABASE_URL = env("ESCALADE_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'escalade.sqlite3'}"
DATABASES = {"default": database_from_url(DATABASE_URL)}

# The policy file in force (None: the one shipped with the package).
ESCALADE_POLICY = env("ESCALADE_POLICY") or None
# The policy of customers whose contract names none, and the one ESCALADE_POLICY is loaded as.
ESCALADE_DEFAULT_POLICY = env("ESCALADE_DEFAULT_POLICY") or "hipcom"
# Delivery of the outbox (see docs/worker.md).
ESCALADE_DELIVERY_MAX_ATTEMPTS = int(env_float("ESCALADE_DELIVERY_MAX_ATTEMPTS", 8))
ESCALADE_DELIVERY_BACKOFF_SECONDS = env_float("ESCALADE_DELIVERY_BACKOFF_SECONDS", 30)
ESCALADE_DELIVERY_BACKOFF_CAP_SECONDS = env_float("ESCALADE_DELIVERY_BACKOFF_CAP_SECONDS", 3600)
ESCALADE_DELIVERY_LEASE_SECONDS = env_float("ESCALADE_DELIVERY_LEASE_SECONDS", 120)
# From this many alerts due together for one address, they leave as one e-mail (0: never).
ESCALADE_DELIVERY_DIGEST_FROM = int(env_float("ESCALADE_DELIVERY_DIGEST_FROM", 5))
ESCALADE_DELIVERY_DIGEST_MAX = int(env_float("ESCALADE_DELIVERY_DIGEST_MAX", 100))  # alerts in one digest
ESCALADE_ACK_LINK_MAX_AGE_SECONDS = env_float("ESCALADE_ACK_LINK_MAX_AGE_SECONDS", 7 * 24 * 3600)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "ninja",  # serves Swagger UI from its own static files, never from a CDN
    "escalade.accounts",
    "escalade.policies",
    "escalade.incidents",
    "escalade.escalations",
    "escalade.notifications",
    "escalade.mail",
    "escalade.sync",
    "escalade.reports",
    "escalade.api",
    "escalade.web",
    "escalade.ops",
    "axes",  # login throttling and lockout, its attempts in the database (shared by every process)
    "django_include_htmx",  # ships htmx.min.js (the official htmx.org 2.0.4 file) as a static file
]

MIDDLEWARE = [
    "escalade.web.middleware.RequestMetrics",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "escalade.web.middleware.PolicyTimezone",
    "escalade.web.middleware.NotFoundPage",
    "escalade.web.middleware.DatabaseUnavailable",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]

# -- abuse limits (every counter is in the database: they hold across processes and machines) ------
# Wrong passwords: ESCALADE_LOGIN_FAILURES in a row for one account from one address lock that pair
# out for ESCALADE_LOGIN_LOCKOUT_MINUTES (an attacker cannot lock a person out from elsewhere).
AXES_FAILURE_LIMIT = int(env_float("ESCALADE_LOGIN_FAILURES", 10))
AXES_COOLOFF_TIME = timedelta(minutes=env_float("ESCALADE_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "escalade.web.views.locked_out"
AXES_VERBOSE = False
# Behind N reverse proxies, the client's address is the Nth from the right of X-Forwarded-For.
PROXY_COUNT = int(env_float("ESCALADE_PROXY_COUNT", 0))
AXES_CLIENT_IP_CALLABLE = "escalade.accounts.throttle.client_address"
# COUNT/SECONDS: escalation requests per customer or partner account, per incident (everyone), and
# failed API tokens per client address; an identical request repeated within the fold window is
# counted on the first one's history entry rather than written again.
THROTTLE_RATES = {
    "escalations_per_user": env_rate("ESCALADE_RATE_ESCALATIONS_PER_USER", "30/600"),
    "escalations_per_incident": env_rate("ESCALADE_RATE_ESCALATIONS_PER_INCIDENT", "60/600"),
    "token_failures_per_address": env_rate("ESCALADE_RATE_TOKEN_FAILURES", "20/300"),
    # Answers to one address: a loop with a robot that does not say it is one dies out here.
    "mail_replies_per_sender": env_rate("ESCALADE_RATE_MAIL_REPLIES", "10/3600"),
}

# -- the procedure's mailbox (docs/mail.md): `escalade mail receive` (MTA pipe), `mail fetch` (IMAP)
ESCALADE_MAIL_IMAP_URL = env("ESCALADE_MAIL_IMAP_URL")  # imap[s]://user:password@host:port
ESCALADE_MAIL_FOLDER = env("ESCALADE_MAIL_FOLDER", "INBOX")
ESCALADE_MAIL_DONE_FOLDER = env("ESCALADE_MAIL_DONE_FOLDER", "Traités")
ESCALADE_MAIL_ERROR_FOLDER = env("ESCALADE_MAIL_ERROR_FOLDER", "Erreurs")
ESCALADE_MAIL_POLL_SECONDS = env_float("ESCALADE_MAIL_POLL_SECONDS", 30)
# /healthz and the dashboard: the mailbox is late when no fetch succeeded for this long
ESCALADE_MAIL_LAG_SECONDS = env_float("ESCALADE_MAIL_LAG_SECONDS", 300)
# The authserv-ids of the receiving MTAs whose Authentication-Results header is believed.
ESCALADE_MAIL_TRUSTED_AUTHSERV = tuple(h.strip() for h in env("ESCALADE_MAIL_TRUSTED_AUTHSERV").split(",") if h.strip())
ESCALADE_MAIL_MAX_BYTES = int(env_float("ESCALADE_MAIL_MAX_BYTES", 10 * 1024 * 1024))
ESCALATION_FOLD_SECONDS = int(env_float("ESCALADE_ESCALATION_FOLD_SECONDS", 600))

# -- the helpdesk sync (docs/helpdesks.md): Request Tracker 5 through REST 2, polled and called back
ESCALADE_RT_URL = env("ESCALADE_RT_URL")  # https://rt.example.com (unset: no RT sync)
ESCALADE_RT_USER = env("ESCALADE_RT_USER")
ESCALADE_RT_PASSWORD = env("ESCALADE_RT_PASSWORD")
ESCALADE_RT_TOKEN = env("ESCALADE_RT_TOKEN")  # an RT auth token instead of the user and password
ESCALADE_RT_QUEUES = env("ESCALADE_RT_QUEUES")  # queue=customer,… (a queue not listed: the customer of its name)
ESCALADE_RT_PRIORITIES = env("ESCALADE_RT_PRIORITIES", "high:70,medium:40,low:0")  # key:lowest RT priority
ESCALADE_RT_NUMBER_PREFIX = env("ESCALADE_RT_NUMBER_PREFIX", "RT-")
ESCALADE_RT_POLL_SECONDS = env_float("ESCALADE_RT_POLL_SECONDS", 60)
ESCALADE_RT_WEBHOOK_TOKEN = env("ESCALADE_RT_WEBHOOK_TOKEN")  # the bearer token an RT scrip sends
# Zammad's trigger webhooks (POST /api/v1/hooks/zammad), signed with this token (HMAC-SHA1)
ESCALADE_ZAMMAD_WEBHOOK_SECRET = env("ESCALADE_ZAMMAD_WEBHOOK_SECRET")
ESCALADE_ZAMMAD_NUMBER_PREFIX = env("ESCALADE_ZAMMAD_NUMBER_PREFIX", "ZAM-")
ESCALADE_ZAMMAD_ORGANISATIONS = env("ESCALADE_ZAMMAD_ORGANISATIONS")  # organisation=customer,…
ESCALADE_ZAMMAD_PRIORITIES = env("ESCALADE_ZAMMAD_PRIORITIES", "1 low=low,2 normal=medium,3 high=high")
# Jira Service Management's admin webhooks (POST /api/v1/hooks/jira), signed with this secret (HMAC-SHA256)
ESCALADE_JIRA_WEBHOOK_SECRET = env("ESCALADE_JIRA_WEBHOOK_SECRET")
ESCALADE_JIRA_PROJECTS = env("ESCALADE_JIRA_PROJECTS")  # project key=customer,…
ESCALADE_JIRA_PRIORITIES = env("ESCALADE_JIRA_PRIORITIES", "Highest=high,High=high,Medium=medium,Low=low,Lowest=low")
ESCALADE_JIRA_WAITING_STATUSES = env("ESCALADE_JIRA_WAITING_STATUSES", "Waiting for customer,En attente du client")
# GLPI 11's webhooks (POST /api/v1/hooks/glpi), signed with the webhook's secret (X-GLPI-signature)
ESCALADE_GLPI_WEBHOOK_SECRET = env("ESCALADE_GLPI_WEBHOOK_SECRET")
ESCALADE_GLPI_NUMBER_PREFIX = env("ESCALADE_GLPI_NUMBER_PREFIX")  # "": the ticket id, as customers see it
ESCALADE_GLPI_ENTITIES = env("ESCALADE_GLPI_ENTITIES")  # entity name=customer,…
ESCALADE_GLPI_PRIORITIES = env("ESCALADE_GLPI_PRIORITIES", "6=high,5=high,4=high,3=medium,2=low,1=low")
# iTop's webhook actions (POST /api/v1/hooks/itop), with this bearer token in a custom header
ESCALADE_ITOP_WEBHOOK_TOKEN = env("ESCALADE_ITOP_WEBHOOK_TOKEN")
ESCALADE_ITOP_TIMEZONE = env("ESCALADE_ITOP_TIMEZONE", "Europe/Paris")  # the zone iTop writes its dates in
ESCALADE_ITOP_ORGANISATIONS = env("ESCALADE_ITOP_ORGANISATIONS")  # organisation=customer,…
ESCALADE_ITOP_PRIORITIES = env("ESCALADE_ITOP_PRIORITIES", "1=high,2=high,3=medium,4=low")
ESCALADE_SYNC_LAG_SECONDS = env_float("ESCALADE_SYNC_LAG_SECONDS", 600)  # /healthz: a sync older than this

# -- operations: /healthz is 503 when no worker was seen for this long or a due notification waits
# this long; /metrics asks for `Authorization: Bearer …` when a token is set.
HEALTH_WORKER_SECONDS = env_float("ESCALADE_HEALTH_WORKER_SECONDS", 60)
HEALTH_OUTBOX_SECONDS = env_float("ESCALADE_HEALTH_OUTBOX_SECONDS", 300)
METRICS_TOKEN = env("ESCALADE_METRICS_TOKEN")

ROOT_URLCONF = "escalade.urls"
WSGI_APPLICATION = "escalade.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Django's {% url %} with its answers kept (a fifth of the dashboard's time was reversing)
            "builtins": ["escalade.web.templatetags.kept_urls"],
        },
    }
]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"  # only a default: pages and reports use the policy's zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("ESCALADE_STATIC_ROOT") or DATA_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Durable background tasks in the same database (outbox delivery).
TASKS = {"default": {"BACKEND": "escalade.notifications.taskqueue.DatabaseBackend"}}

EMAIL_URL = env("ESCALADE_EMAIL_URL", "console://")
DEFAULT_FROM_EMAIL = env("ESCALADE_FROM_EMAIL", "escalade@localhost")
# The procedure's address (docs/mail.md): the From of the answers to e-mails, never answered itself.
ESCALADE_MAIL_ADDRESS = env("ESCALADE_MAIL_ADDRESS") or DEFAULT_FROM_EMAIL


def mailer_from_url(url: str) -> dict[str, object]:
    """smtp://host:port, smtp+tls://user:pass@host:587 (STARTTLS), smtps://… (implicit TLS),
    console://, file:///dir, locmem://, dummy:// → one entry of Django's MAILERS."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    simple = {"console": "console", "locmem": "locmem", "dummy": "dummy", "file": "filebased"}
    if scheme == "console":  # readable text on standard error, apart from the access log
        return {"BACKEND": "escalade.notifications.console.EmailBackend"}
    if scheme in simple:
        backend = f"django.core.mail.backends.{simple[scheme]}.EmailBackend"
        if scheme == "file":
            return {"BACKEND": backend, "OPTIONS": {"file_path": unquote(parsed.path) or str(DATA_DIR / "mail")}}
        return {"BACKEND": backend}
    if scheme not in ("smtp", "smtp+tls", "smtps", "smtp+ssl"):
        raise ImproperlyConfigured(f"ESCALADE_EMAIL_URL: unsupported scheme {parsed.scheme!r}")
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    options: dict[str, object] = {
        "host": parsed.hostname or "localhost",
        "use_tls": scheme == "smtp+tls",
        "use_ssl": scheme in ("smtps", "smtp+ssl"),
        # A stuck mail server must not hold a delivery (and its lease) forever.
        "timeout": float(query.get("timeout", 10)),
    }
    if parsed.port:
        options["port"] = parsed.port
    if parsed.username:
        options["username"] = unquote(parsed.username)
        options["password"] = unquote(parsed.password or "")
    return {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}


MAILERS = {"default": mailer_from_url(EMAIL_URL)}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "escalade": {"handlers": ["console"], "level": env("ESCALADE_LOG_LEVEL", "INFO")},
        # Every 500 with its traceback (Django's default sends them only to admins' mail, or to the
        # console in DEBUG): an operator must see what broke.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
