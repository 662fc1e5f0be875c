"""ESCALADE_EMAIL_URL → Django's MAILERS."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from escalade.settings import mailer_from_url


def test_plain_smtp_with_host_and_port() -> None:
    assert mailer_from_url("smtp://mail.hipcom.fr:2525") == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "mail.hipcom.fr", "port": 2525, "use_tls": False, "use_ssl": False, "timeout": 10.0},
    }


def test_starttls_with_credentials_quoted_in_the_url() -> None:
    options = mailer_from_url("smtp+tls://escalade%40hipcom.fr:p%40ss@smtp.hipcom.fr:587?timeout=5")["OPTIONS"]
    assert options == {"host": "smtp.hipcom.fr", "port": 587, "use_tls": True, "use_ssl": False,
                       "timeout": 5.0, "username": "escalade@hipcom.fr", "password": "p@ss"}


def test_implicit_tls_and_the_development_backends() -> None:
    assert mailer_from_url("smtps://smtp.hipcom.fr")["OPTIONS"]["use_ssl"] is True  # type: ignore[index]
    assert mailer_from_url("console://") == {"BACKEND": "escalade.notifications.console.EmailBackend"}
    assert mailer_from_url("file:///var/mail/escalade")["OPTIONS"] == {"file_path": "/var/mail/escalade"}


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured):
        mailer_from_url("http://example.org")
