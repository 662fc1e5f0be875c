"""How a rendered message leaves: a small class per channel, one `notify()` each.

Email goes through Django's SMTP backend; SMS gateways and chat webhooks (Teams, Slack,
Mattermost, generic JSON…) through apprise, addressed by the URL configured on the contact.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import apprise
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from escalade.notifications.messages import Message
from escalade.notifications.models import DeliveryChannel, Notification


class DeliveryError(Exception):
    """The channel refused or failed: try again later."""


class PermanentDeliveryError(DeliveryError):
    """Trying again cannot help (an unusable address): the notification is dead at once."""


def message_id(idempotency_key: str) -> str:
    """Same notification, same Message-ID: a receiver can drop the duplicates that at-least-once
    delivery may produce."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@escalade>"


_session = threading.local()


@contextmanager
def smtp_session() -> Iterator[None]:
    """Send a batch over one SMTP connection instead of one connection per message."""
    _session.active = True
    try:
        yield
    finally:
        _session.active = False
        _drop_connection()


def _drop_connection() -> None:
    connection = getattr(_session, "connection", None)
    _session.connection = None
    if connection is not None:
        with suppress(Exception):  # already broken: nothing more to release
            connection.close()


def _connection() -> Any:
    if not getattr(_session, "active", False):
        return None  # Django opens and closes one for this message
    if getattr(_session, "connection", None) is None:
        _session.connection = mail.mailers.default
        _session.connection.open()
    return _session.connection


class EmailChannel:
    def notify(self, notification: Notification, message: Message) -> None:
        self._send(notification.recipient, message, {
            "Message-ID": message_id(notification.idempotency_key), "X-Escalade-Kind": notification.kind})

    def notify_digest(self, notifications: list[Notification], message: Message) -> None:
        """One message for alerts to one address. Its Message-ID is the group's; `X-Escalade-Covers`
        names each alert's own Message-ID, so that a receiver (or a test) can tell which alerts
        arrived, and which twice, whether alone or together."""
        keys = sorted(n.idempotency_key for n in notifications)
        self._send(notifications[0].recipient, message, {
            "Message-ID": message_id("digest:" + "|".join(keys)), "X-Escalade-Kind": "digest",
            "X-Escalade-Covers": " ".join(message_id(n.idempotency_key) for n in notifications)})

    def _send(self, recipient: str, message: Message, headers: dict[str, str]) -> None:
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=message.sender or settings.DEFAULT_FROM_EMAIL,
            to=[recipient],
            headers={**headers, "Auto-Submitted": "auto-generated", **message.headers},
        )
        email.attach_alternative(message.html, "text/html")
        try:
            connection = _connection()
            if connection is None:
                email.send()
            else:
                connection.send_messages([email])
        except Exception:
            _drop_connection()  # the next message of the batch starts on a fresh connection
            raise


class AppriseChannel:
    def notify(self, notification: Notification, message: Message) -> None:
        target = apprise.Apprise()
        if not target.add(notification.recipient):
            raise PermanentDeliveryError("adresse apprise inutilisable")
        with apprise.LogCapture(level=apprise.logging.WARNING) as log:
            if not target.notify(title=message.subject, body=message.short):
                detail = " ".join(str(log.getvalue()).split())[-500:]
                raise DeliveryError(f"apprise : échec de l'envoi. {detail}".strip())


CHANNELS = {DeliveryChannel.EMAIL: EmailChannel(), DeliveryChannel.APPRISE: AppriseChannel()}
