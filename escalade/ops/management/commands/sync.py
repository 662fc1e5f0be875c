"""`escalade sync rt [--once|--watch] [--since DATE]`, `escalade sync status`: the helpdesk sync."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from escalade.sync import services
from escalade.sync.conf import request_tracker


class Command(BaseCommand):
    help = "Synchronise les incidents avec le helpdesk (Request Tracker) et écrit les escalades sur ses tickets."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, title="actions")
        rt = actions.add_parser("rt", help="lit les tickets modifiés de Request Tracker (ESCALADE_RT_URL)")
        rt.add_argument("--watch", action="store_true", help="recommence toutes les ESCALADE_RT_POLL_SECONDS")
        rt.add_argument("--once", action="store_true", help="un passage (par défaut)")
        rt.add_argument("--since", help="reprise : les tickets modifiés depuis cette date (AAAA-MM-JJ), barre de progression")
        actions.add_parser("status", help="curseur, dernier succès, retard, dernière erreur")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "status":
            self._status()
            return
        rt = request_tracker()
        if rt is None:
            raise CommandError("ESCALADE_RT_URL n'est pas défini : aucun Request Tracker à synchroniser.")
        since = None
        if options["since"]:
            try:
                since = datetime.fromisoformat(options["since"]).replace(tzinfo=UTC)
            except ValueError:
                raise CommandError(f"Date invalide « {options['since']} » (attendu AAAA-MM-JJ).") from None
        while True:
            delay = settings.ESCALADE_RT_POLL_SECONDS
            try:
                with tqdm(desc="tickets", unit=" tickets", disable=since is None, file=self.stderr) as bar:
                    report = services.poll(rt, timezone.now(), since=since, progress=bar.update)
                self.stdout.write(f"{report.tickets} ticket(s) lus, {report.applied} changement(s) appliqués, "
                                  f"{report.comments} commentaire(s) écrits.")
                for error in report.errors:
                    self.stderr.write(f"  - {error}")
            except Exception as exc:  # the helpdesk is down: say it, retry later
                if not options["watch"]:
                    raise CommandError(f"Synchronisation impossible : {exc}") from None
                self.stderr.write(f"Synchronisation impossible, nouvel essai dans {delay:.0f} s : {exc}")
            if not options["watch"]:
                return
            since = None
            time.sleep(delay)

    def _status(self) -> None:
        found = services.status("rt", timezone.now())
        lag = found["lag_seconds"]
        self.stdout.write(f"rt\tcurseur {found['cursor'] or '—'}\tdernier succès {found['last_success_at'] or '—'}\t"
                          f"retard {'—' if lag is None else f'{lag:.0f} s'}\t{found['applied']} changement(s) appliqués")
        if found["last_error"]:
            self.stdout.write(f"dernière erreur ({found['last_error_at']}) : {found['last_error']}")
