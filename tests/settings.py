"""Settings for the test suite: the service's own, with a test database and a fast hasher.

The suite runs on an in-memory SQLite database, or on PostgreSQL when ESCALADE_TEST_DATABASE_URL is
set (CI fails loudly if that server cannot be reached, see conftest.py).
"""

from __future__ import annotations

import os

from escalade.settings import *  # noqa: F403
from escalade.settings import database_from_url

DATABASES = {"default": database_from_url(os.environ.get("ESCALADE_TEST_DATABASE_URL") or "sqlite:///")}
# Users are created by the hundred in tests; a slow hasher only costs time there.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Static files served from the finders, no collectstatic before each run.
WHITENOISE_AUTOREFRESH = True
# The test client speaks plain HTTP to "testserver": the development profile.
DEV = True
SECRET_KEY = "escalade-tests-only-not-secret"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
