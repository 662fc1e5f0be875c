"""Helpdesks whose webhooks send the ticket as it is now (Zammad, Jira, GLPI, iTop): the
incident is brought to that state through the incident services, each step once. The difference
with the incident is what happened: first taken in charge, waiting for the customer (a pause),
resumed, resolved, reopened, priority changed. A delivery seen again changes nothing."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.db import transaction

from escalade.errors import ServiceError
from escalade.incidents.models import Channel, Incident, IncidentPause
from escalade.incidents.services import IncidentInput, apply_event, upsert_incident
from escalade.sync.models import AppliedChange


@dataclass(frozen=True)
class TicketSnapshot:
    request_number: str
    customer: str
    priority: str
    title: str
    opened_at: datetime
    changed_at: datetime  # when the helpdesk made this state
    taken: bool  # out of "new", or an owner
    waiting: bool  # waiting for the customer: the clocks stop
    done: bool  # resolved / closed


def apply_snapshot(connector: str, delivery: str, ticket: TicketSnapshot, now: datetime) -> int:
    """Bring the incident to the ticket's state; returns the number of facts recorded. `delivery` is
    the helpdesk's id of this call: the same delivery twice is applied once."""
    with transaction.atomic():
        _, first = AppliedChange.objects.get_or_create(connector=connector, key=f"delivery:{delivery}",
                                                       defaults={"request_number": ticket.request_number})
        if not first:
            return 0
        at = min(ticket.changed_at, now)
        incident = Incident.objects.filter(request_number=ticket.request_number).first()
        steps: list[Callable[[Incident], object]] = []
        if incident is None:
            data = IncidentInput(request_number=ticket.request_number, customer=ticket.customer,
                                 priority=ticket.priority, opened_at=ticket.opened_at.isoformat(), title=ticket.title)
            incident, _created = upsert_incident(data, user=None, channel=Channel.SYNC, now=now)
            count = 1
        else:
            count = 0
            if incident.priority != ticket.priority:
                steps.append(lambda i: record_fact(i, "change_priority", at, now, priority=ticket.priority))
        paused = IncidentPause.objects.filter(incident=incident, end__isnull=True).exists()
        if incident.resolved_at is not None and not ticket.done:
            steps.append(lambda i: record_fact(i, "reopen", at, now))
        if paused and not ticket.waiting:
            steps.append(lambda i: record_fact(i, "resume", at, now))
        if ticket.taken and incident.acknowledged_at is None:
            steps.append(lambda i: record_fact(i, "acknowledge", at, now))
        if ticket.waiting and not paused and not ticket.done:
            steps.append(lambda i: record_fact(i, "pause", at, now))
        if ticket.done and incident.resolved_at is None:
            steps.append(lambda i: record_fact(i, "resolve", at, now))
        for step in steps:
            step(Incident.objects.get(pk=incident.pk))
        return count + len(steps)


def record_fact(incident: Incident, kind: str, at: datetime, now: datetime, **extra: object) -> None:
    """One helpdesk fact as an incident event: in the system's name, channel `sync`, never before the
    opening (a helpdesk's clock may be a second behind ours)."""
    apply_event(incident, kind, user=None, channel=Channel.SYNC, now=now, at=max(at, incident.opened_at),
                **extra)  # type: ignore[arg-type]


class PayloadError(ServiceError):
    """A webhook body that is not the helpdesk's shape: 422 with what is missing, nothing applied."""

    def __init__(self, detail: str) -> None:
        super().__init__("hook_payload_invalid", detail, status=422)


def hub_signature_ok(secret: str, body: bytes, header: str, algorithm: str) -> bool:
    """WebSub's `X-Hub-Signature: <algorithm>=<hex HMAC of the raw body>` (Zammad: sha1, Jira: sha256)."""
    digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    return bool(secret) and hmac.compare_digest(f"{algorithm}={digest}".encode(), header.strip().encode())


def instant(value: object, path: str) -> datetime:
    """A webhook's instant: ISO 8601 with its offset (Zammad's 'Z', Jira's '+0100', GLPI's RFC 3339),
    in UTC; else a 422 naming the field."""
    try:
        found = datetime.fromisoformat(str(value))
    except ValueError:
        raise PayloadError(f"{path} : instant ISO-8601 attendu, reçu « {value} ».") from None
    if found.tzinfo is None:
        raise PayloadError(f"{path} : l'instant n'indique pas de décalage horaire.")
    return found.astimezone(UTC)


def body_digest(body: bytes) -> str:
    """A delivery's identity where the helpdesk gives none: the same body is the same call."""
    return hashlib.sha256(body).hexdigest()


class WebhookConnector:
    """A helpdesk whose webhook sends the ticket as it is now, as a small class (healthchecks'
    transports are the model): how a call is authenticated, what the ticket is, what identifies a
    delivery. `api.hooks` does the rest, the same for every helpdesk."""

    name: ClassVar[str]
    product: ClassVar[str]
    credential: ClassVar[str]  # the 401's detail: what a refused call lacked ("Signature … absente ou invalide")

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def verified(self, body: bytes, headers: Mapping[str, str]) -> bool:
        raise NotImplementedError

    def snapshot(self, payload: Any) -> TicketSnapshot | None:
        """The ticket in the body; None for an event about something else (nothing to apply)."""
        raise NotImplementedError

    def delivery_key(self, headers: Mapping[str, str], body: bytes) -> str:
        return body_digest(body)


class HubSignatureConnector(WebhookConnector):
    """A helpdesk that signs with WebSub's `X-Hub-Signature` and names each delivery in a header."""

    algorithm: ClassVar[str]
    delivery_header: ClassVar[str]
    credential = "Signature X-Hub-Signature absente ou invalide"

    def verified(self, body: bytes, headers: Mapping[str, str]) -> bool:
        return hub_signature_ok(self.settings.secret, body, headers.get("X-Hub-Signature", ""), self.algorithm)

    def delivery_key(self, headers: Mapping[str, str], body: bytes) -> str:
        return headers.get(self.delivery_header) or body_digest(body)
