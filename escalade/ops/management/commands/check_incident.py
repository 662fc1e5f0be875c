"""`escalade check REQUEST_NUMBER [--at ISO]`: one stored incident's evaluation, in French.

Named `check_incident` so that Django's own `check` stays whole; the `escalade` dispatcher maps the
user's word `check REQUEST_NUMBER` to it (alone, `escalade check` is Django's system check).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from escalade.core.contract import FactsError, parse_instant
from escalade.core.escalation import Evaluation
from escalade.core.messages import commitment_label, format_duration, format_instant, state_label
from escalade.core.policy import Policy
from escalade.incidents.models import Incident


class Command(BaseCommand):
    help = ("Évalue un incident enregistré (escalade check REQ-1042) : engagements, échéances, "
            "escalade possible et contacts.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("labels", nargs="*", metavar="REQUEST_NUMBER", help="numéro de requête")
        parser.add_argument("--at", help="instant d'évaluation ISO-8601 avec décalage (défaut : maintenant)")

    def handle(self, *args: Any, labels: list[str], **options: Any) -> None:
        if len(labels) != 1:
            raise CommandError("Indiquez un seul numéro de requête (ex. escalade check REQ-1042).")
        at = datetime.now(UTC)
        if options.get("at"):
            try:
                at = parse_instant(options["at"], "--at")
            except FactsError as exc:
                raise CommandError(exc.message) from None
        number = labels[0].strip()
        incident = (
            Incident.objects.select_related("customer", "customer__partner").filter(request_number=number).first()
        )
        if incident is None:
            raise CommandError(f"Aucun incident ne porte le numéro de requête « {number} ».")
        if at < incident.opened_at:
            raise CommandError("L'instant d'évaluation précède l'ouverture de l'incident.")
        policy = incident.policy
        self.stdout.write("\n".join(report(policy, incident, incident.evaluate(policy, at))))


def _when(instant: datetime | None, policy: Policy) -> str:
    return "—" if instant is None else format_instant(instant, policy.timezone)


def report(policy: Policy, incident: Incident, evaluation: Evaluation) -> list[str]:
    tz = policy.timezone
    priority = policy.priorities[incident.priority]
    customer = incident.customer
    managed = f", géré par {customer.partner.name}" if customer.partner_id else ""
    lines = [
        f"Incident {incident.request_number}" + (f" — {incident.title}" if incident.title else ""),
        f"  Client : {customer.name} ({customer.code}){managed}",
        f"  Priorité : {priority.label} ({priority.meaning}) — filière {incident.track} — "
        f"GTR {'oui' if incident.gtr else 'non'}",
        f"  Statut : {incident.get_status_display()}",
        f"  Ouvert le {_when(incident.opened_at, policy)} ; pris en charge : "
        f"{_when(incident.acknowledged_at, policy)} ; résolu : {_when(incident.resolved_at, policy)}",
        f"Évaluation au {format_instant(evaluation.evaluated_at, tz)} ({policy.timezone.key})",
        "",
        "Engagements :",
    ]
    commitments = evaluation.commitments
    for status in (commitments.take_charge, commitments.resolution):
        if status is None:
            lines.append(f"  Résolution : pas d'engagement (priorité {priority.label} sans GTR)")
            continue
        clock = "24/7" if status.clock == "24/7" else policy.calendars[status.clock].label
        due = "suspendue (en attente client)" if status.due_at is None else _when(status.due_at, policy)
        line = (f"  {commitment_label(status.kind.value).capitalize()} : {format_duration(status.target)} "
                f"({clock}) — échéance {due} — {state_label(status.state.value)}")
        if status.overdue:
            line += f" — dépassement {format_duration(status.overdue)}"
        lines.append(line)
    decision = evaluation.escalation
    lines += ["", f"Escalade : {'possible, niveau ' + str(decision.level) if decision.allowed else 'impossible'}",
              f"  {decision.message}"]
    if decision.eligible_at:
        lines.append(f"  Possible à partir du {_when(decision.eligible_at, policy)}")
    if decision.next_level_at:
        lines.append(f"  Niveau suivant le {_when(decision.next_level_at, policy)}")
    if decision.contacts:
        lines += ["", "Contacts :"]
        for contact in decision.contacts:
            role = f" ({contact.role})" if contact.role else ""
            lines.append(f"  Niveau {contact.level} — {contact.name}{role} — {' · '.join(contact.phones)} — "
                         f"{contact.email}")
    escalations = list(incident.escalations.order_by("level"))
    if escalations:
        lines += ["", "Escalades enregistrées :"]
        for escalation in escalations:
            ack = (f"prise en compte le {_when(escalation.acknowledged_at, policy)}"
                   if escalation.acknowledged_at else "en attente de prise en compte")
            lines.append(f"  {escalation.number} — niveau {escalation.level} — accordée le "
                         f"{_when(escalation.granted_at, policy)} — {ack}")
    return lines
