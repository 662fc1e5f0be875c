"""Django settings, from the environment, with a working embedded default (SQLite under data/)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
DATA_DIR = Path(os.environ.get("ESCALADE_DATA_DIR", PROJECT_DIR / "data"))


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
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
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


TESTING = "pytest" in sys.modules
DEBUG = os.environ.get("ESCALADE_DEBUG", "") == "1"
SECRET_KEY = os.environ.get("ESCALADE_SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING or os.environ.get("ESCALADE_DEV", "1") == "1"):
        raise ImproperlyConfigured("ESCALADE_SECRET_KEY must be set in production")
    SECRET_KEY = "escalade-development-only-not-secret"
ALLOWED_HOSTS = [h for h in os.environ.get("ESCALADE_ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("ESCALADE_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]
BASE_URL = os.environ.get("ESCALADE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

_default_db = f"sqlite:///{DATA_DIR / 'escalade.sqlite3'}"
DATABASE_URL = os.environ.get("ESCALADE_DATABASE_URL", _default_db)
if TESTING:
    # The suite runs on SQLite, and on PostgreSQL when ESCALADE_TEST_DATABASE_URL is set.
    DATABASE_URL = os.environ.get("ESCALADE_TEST_DATABASE_URL") or "sqlite:///"
DATABASES = {"default": database_from_url(DATABASE_URL)}
if TESTING:
    # Users are created by the hundred in tests; a slow hasher only costs time there.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and DATABASES["default"]["NAME"]:
    Path(str(DATABASES["default"]["NAME"])).parent.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "escalade.accounts",
    "escalade.incidents",
    "escalade.escalations",
    "escalade.notifications",
    "escalade.api",
    "escalade.web",
    "escalade.ops",
    "django_include_htmx",  # ships htmx.min.js (the official htmx.org 2.0.4 file) as a static file
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("ESCALADE_STATIC_ROOT", DATA_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Durable background tasks in the same database (outbox delivery).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

EMAIL_URL = os.environ.get("ESCALADE_EMAIL_URL", "console://")
DEFAULT_FROM_EMAIL = os.environ.get("ESCALADE_FROM_EMAIL", "escalade@localhost")


def mailer_from_url(url: str) -> dict[str, object]:
    """smtp://host:port, smtp+tls://user:pass@host:587 (STARTTLS), smtps://… (implicit TLS),
    console://, file:///dir, locmem://, dummy:// → one entry of Django's MAILERS."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    simple = {"console": "console", "locmem": "locmem", "dummy": "dummy", "file": "filebased"}
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
        "escalade": {"handlers": ["console"], "level": os.environ.get("ESCALADE_LOG_LEVEL", "INFO")},
        # Every 500 with its traceback (Django's default sends them only to admins' mail, or to the
        # console in DEBUG): an operator must see what broke.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
