"""`escalade audit verify [REQUEST_NUMBER ...]`: check every timeline's hash chain (or the named
incidents'), name the first broken entry of each, exit 1 if any is broken.

`escalade audit export REQUEST_NUMBER`: the incident's whole record as JSON (facts, evaluation,
timeline with its hashes, escalations and requests), the document of an SLA dispute.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from escalade.escalations.record import incident_record
from escalade.incidents.audit import verify
from escalade.incidents.models import Incident


class Command(BaseCommand):
    help = "Vérifie les chaînes d'empreintes des chronologies (verify) ou exporte le dossier d'un incident (export)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("verify", help="vérifie les chaînes (toutes, ou celles des incidents nommés)")
        check.add_argument("numbers", nargs="*", metavar="REQUEST_NUMBER")
        export = sub.add_parser("export", help="le dossier complet d'un incident, en JSON")
        export.add_argument("number", metavar="REQUEST_NUMBER")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "export":
            self.export(options["number"].strip())
        else:
            self.verify([n.strip() for n in options["numbers"]])

    def export(self, number: str) -> None:
        incident = Incident.objects.filter(request_number=number).first()
        if incident is None:
            raise CommandError(f"Aucun incident ne porte le numéro de requête « {number} ».")
        record = incident_record(incident, datetime.now(UTC))
        self.stdout.write(json.dumps(record, ensure_ascii=False, indent=2))

    def verify(self, numbers: list[str]) -> None:
        incidents = Incident.objects.order_by("pk")
        if numbers:
            incidents = incidents.filter(request_number__in=numbers)
            unknown = set(numbers) - set(incidents.values_list("request_number", flat=True))
            if unknown:
                raise CommandError("Numéro(s) de requête inconnu(s) : " + ", ".join(sorted(unknown)))
        chains = entries = 0
        broken = []
        for report in verify(incidents):
            chains += 1
            entries += report.entries
            if report.broken is not None:
                broken.append(report.broken)
                b = report.broken
                self.stdout.write(f"{b.request_number} : chaîne rompue à l'entrée {b.position}"
                                  f"{f' (id {b.event_id})' if b.event_id else ''} : {b.reason}")
            elif numbers:
                self.stdout.write(f"{report.request_number} : {report.entries} entrées, chaîne intacte "
                                  f"(empreinte finale {report.head[:16]}…)")
        self.stdout.write(f"{chains} chronologie(s), {entries} entrée(s) vérifiée(s), "
                          f"{len(broken)} chaîne(s) rompue(s).")
        if broken:
            sys.exit(1)
