"""`escalade mail receive` (one RFC 5322 message on standard input, for an MTA pipe) and
`escalade mail fetch [--watch]` (the IMAP mailbox of ESCALADE_MAIL_IMAP_URL). See docs/mail.md."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from escalade.mail import imap
from escalade.mail.services import receive

# sysexits.h: an MTA keeps the message and tries again later on EX_TEMPFAIL.
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Les e-mails reçus à l'adresse de la procédure : décidés et répondus."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("receive", help="décide un message lu sur l'entrée standard (tube d'un MTA)")
        fetch = sub.add_parser("fetch", help="relève la boîte IMAP (ESCALADE_MAIL_IMAP_URL)")
        fetch.add_argument("--watch", action="store_true", help="sans fin : IDLE, sinon toutes les N s")
        fetch.add_argument("--poll", type=float, default=None, help="secondes entre deux relèves")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "receive":
            raw = sys.stdin.buffer.read()
            if not raw.strip():
                raise CommandError("aucun message sur l'entrée standard")
            try:
                received = receive(raw, now=timezone.now(), source="pipe")
            except Exception as exc:  # the database is away: the MTA must keep the message
                self.stderr.write(f"escalade mail receive : {exc}")
                sys.exit(EX_TEMPFAIL)
            message = received.message
            state = "déjà reçu" if received.duplicate else message.get_decision_display()
            self.stdout.write(f"{message.message_id} : {state} ({message.code})")
            return
        try:
            config = imap.Settings.from_django()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        poll = options["poll"] if options["poll"] is not None else settings.ESCALADE_MAIL_POLL_SECONDS
        try:
            count = imap.run(config, watch=options["watch"], poll=poll)
        except Exception as exc:
            raise CommandError(f"boîte {config.public_url} : {exc}") from None
        self.stdout.write(f"{count} message(s) traité(s) dans {config.public_url}")
