"""Reading the procedure's mailbox over IMAP (imap-tools): each message is decided by
`services.receive`, and moved to the done or error folder only after that decision is committed. A
fetcher killed in between finds the message again on its next pass; its Message-ID is already
recorded, so nothing is decided or answered twice, and it is moved then."""

from __future__ import annotations

import contextlib
import imaplib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone
from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError

from escalade.mail.models import Decision, Mailbox
from escalade.mail.services import receive

logger = logging.getLogger("escalade.mail")


@dataclass(frozen=True)
class Settings:
    url: str
    folder: str
    done: str
    errors: str

    @classmethod
    def from_django(cls) -> Settings:
        if not settings.ESCALADE_MAIL_IMAP_URL:
            raise ValueError("ESCALADE_MAIL_IMAP_URL n'est pas défini (imap://utilisateur:mot-de-passe@hôte:port)")
        return cls(settings.ESCALADE_MAIL_IMAP_URL, settings.ESCALADE_MAIL_FOLDER,
                   settings.ESCALADE_MAIL_DONE_FOLDER, settings.ESCALADE_MAIL_ERROR_FOLDER)

    @property
    def public_url(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{unquote(parts.username or '')}@{parts.hostname}:{parts.port or ''}/{self.folder}"


def connect(config: Settings) -> BaseMailBox:
    parts = urlsplit(config.url)
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError(f"ESCALADE_MAIL_IMAP_URL : schéma « {parts.scheme} » inconnu (imap ou imaps)")
    host = parts.hostname or "localhost"
    box: BaseMailBox = (MailBox(host, parts.port or 993, timeout=60) if parts.scheme == "imaps"
                        else MailBoxUnencrypted(host, parts.port or 143, timeout=60))
    box.login(unquote(parts.username or ""), unquote(parts.password or ""), initial_folder=None)
    for name in (config.done, config.errors):
        if not box.folder.exists(name):
            box.folder.create(name)
    box.folder.set(config.folder)
    return box


def fetch_once(box: BaseMailBox, config: Settings, now: Callable[[], datetime] = timezone.now,
               after_decision: Callable[[str], None] | None = None) -> int:
    """Decide and move every message in the folder; returns how many were handled."""
    handled = 0
    for uid in box.uids():
        status, data = box.client.uid("FETCH", uid, "(BODY.PEEK[])")  # PEEK: not marked seen yet
        raw = next((part[1] for part in data if isinstance(part, tuple)), None)
        if status != "OK" or raw is None:
            continue  # expunged meanwhile by someone else
        received = receive(bytes(raw), now=now(), source="imap")
        if after_decision is not None:
            after_decision(uid)
        target = config.errors if received.message.decision == Decision.ERROR else config.done
        box.flag(uid, "\\Seen", True)
        box.move(uid, target)
        handled += 1
        Mailbox.objects.filter(url=config.public_url).update(
            fetched=F("fetched") + 1,
            errors=F("errors") + (1 if target == config.errors else 0),
        )
    return handled


def _status(config: Settings, *, ok: bool, error: str = "") -> None:
    at = timezone.now()
    with transaction.atomic():
        row, _ = Mailbox.objects.get_or_create(url=config.public_url)
        row.last_fetch_at = at
        if ok:
            row.last_success_at, row.last_error = at, ""
        else:
            row.last_error = error[:2000]
        row.save()


def status(now: datetime) -> dict[str, Any] | None:
    """The configured mailbox as its fetcher last left it, for /healthz and the staff dashboard; None
    when no IMAP mailbox is configured (mail piped by the MTA has no fetcher to watch). It is late
    (`ok` false) when no fetch has succeeded for `ESCALADE_MAIL_LAG_SECONDS`, or none ever has:
    requests for escalation sent by e-mail are then waiting, unread."""
    if not settings.ESCALADE_MAIL_IMAP_URL:
        return None
    limit = settings.ESCALADE_MAIL_LAG_SECONDS
    try:
        url = Settings.from_django().public_url
    except ValueError as exc:  # a port that is no number: no fetcher can read that mailbox either
        return {"ok": False, "lag_seconds": None, "last_success_at": None,
                "last_error": f"ESCALADE_MAIL_IMAP_URL : {exc}", "limit_seconds": limit}
    row = Mailbox.objects.filter(url=url).first()
    success = row.last_success_at if row is not None else None
    lag = None if success is None else max(0.0, (now - success).total_seconds())
    return {"ok": lag is not None and lag <= limit, "lag_seconds": lag, "last_success_at": success,
            "last_error": row.last_error if row is not None else "", "limit_seconds": limit}


def run(config: Settings, *, watch: bool, poll: float, stop: Callable[[], bool] = lambda: False) -> int:
    """One pass, or (`watch`) passes for ever: IDLE between them where the server offers it, a pause
    of `poll` seconds otherwise. A lost connection is retried with a growing pause."""
    total, pause = 0, 1.0
    while True:
        try:
            box = connect(config)
            try:
                _status(config, ok=True)
                while True:
                    total += fetch_once(box, config)
                    _status(config, ok=True)
                    pause = 1.0
                    if not watch or stop():
                        return total
                    if "IDLE" in box.client.capabilities:
                        box.idle.wait(timeout=poll)
                    else:
                        time.sleep(poll)
            finally:
                with contextlib.suppress(Exception):
                    box.logout()
        except (OSError, imaplib.IMAP4.error, ImapToolsError, DatabaseError) as exc:
            logger.warning("boîte %s : %s ; nouvel essai dans %.0f s", config.public_url, exc, pause)
            if isinstance(exc, DatabaseError):
                connection.close()  # a fresh connection at the next pass; the message is still there
            with contextlib.suppress(DatabaseError):
                _status(config, ok=False, error=str(exc))
            if not watch:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 60.0)
