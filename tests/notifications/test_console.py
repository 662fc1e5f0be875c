"""The console mailer (`ESCALADE_EMAIL_URL=console://`, the demo's) prints what a person reads: the
headers that matter and the decoded text, on standard error, never quoted-printable."""

from __future__ import annotations

import io
import sys

from django.core.mail import EmailMessage

from escalade.notifications.console import EmailBackend
from escalade.settings import mailer_from_url


def test_console_mail_is_readable_text_on_standard_error() -> None:
    assert mailer_from_url("console://") == {"BACKEND": "escalade.notifications.console.EmailBackend"}
    stream = io.StringIO()
    message = EmailMessage("[REQ-1042] Escalade niveau 2 à prendre en compte",
                           "Délai de prise en charge dépassé de 1 h 05.\nVincent BLUSSEAU — 04 56 40 60 74 · "
                           + "é" * 80, "escalade@hipcom.fr", ["vincent@hipcom.fr"])
    EmailBackend(stream=stream).send_messages([message])
    text = stream.getvalue()
    assert "│ Subject: [REQ-1042] Escalade niveau 2 à prendre en compte" in text
    assert "│ Délai de prise en charge dépassé de 1 h 05." in text
    assert "=C3=A9" not in text and "Content-Transfer-Encoding" not in text
    assert EmailBackend().stream is sys.stderr
