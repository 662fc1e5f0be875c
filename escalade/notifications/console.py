"""E-mails on the console (`ESCALADE_EMAIL_URL=console://`, the demo's), as a person reads them:
the headers that matter and the text, decoded, in one framed block on standard error, so they
stand out from the web server's access log on standard output."""

from __future__ import annotations

import email
import sys
from email.message import EmailMessage
from email.policy import default
from typing import Any

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

SHOWN = ("From", "To", "Subject", "In-Reply-To", "X-Escalade-Kind")


class EmailBackend(DjangoConsoleBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream", sys.stderr)
        super().__init__(*args, **kwargs)

    def write_message(self, message: Any) -> None:
        self.stream.write(readable(message.message().as_bytes()))


def readable(raw: bytes) -> str:
    parsed = email.message_from_bytes(raw, policy=default)
    lines = ["┌─ e-mail " + "─" * 60]
    lines += [f"│ {name}: {parsed[name]}" for name in SHOWN if parsed[name]]
    body = parsed.get_body(("plain",)) if isinstance(parsed, EmailMessage) else None
    text = str(body.get_content()) if body is not None else "(pas de texte)"
    lines.append("│")
    lines += [f"│ {line}" for line in text.replace("\r\n", "\n").rstrip().split("\n")]
    lines.append("└" + "─" * 69)
    return "\n".join(lines) + "\n"
