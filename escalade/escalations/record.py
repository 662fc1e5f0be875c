"""An incident's record: everything Escalade knows of it, as one document (the API's JSON, the
printable page, `escalade audit export`), for an SLA dispute. The timeline carries its hash chain and
the document names the chain's last hash, so whoever keeps a copy can later check that nothing was
removed since. Instants in the policy's zone, as SPEC §2 writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from escalade.core.contract import contact_json, evaluation_json, format_instant
from escalade.escalations.models import Escalation, EscalationRequest
from escalade.incidents.audit import verify
from escalade.incidents.evaluation import evaluation_now
from escalade.incidents.models import Incident, TimelineEvent
from escalade.policies import store


def instant(value: datetime | None) -> str | None:
    return format_instant(value, store.default_policy().timezone)


def escalation_json(escalation: Escalation, *, incident: Incident | None = None) -> dict[str, Any]:
    incident = incident or escalation.incident
    return {
        "id": escalation.pk,
        "number": escalation.number,
        "level": escalation.level,
        "request_number": incident.request_number,
        "requester": escalation.requester_label,
        "requester_role": escalation.requester_role,
        "channel": escalation.channel,
        "reason": escalation.reason,
        "granted_at": instant(escalation.granted_at),
        "acknowledged_at": instant(escalation.acknowledged_at),
        "acknowledged_by": escalation.acknowledged_label or None,
        "contacts": [contact_json(c) for c in incident.policy.contacts_for(escalation.level, incident.track)],
    }


def timeline_json(event: TimelineEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "kind": event.kind,
        "label": event.get_kind_display(),
        "occurred_at": instant(event.occurred_at),
        "recorded_at": instant(event.recorded_at),
        "actor": event.actor_label,
        "channel": event.channel,
        "data": event.data,
        "previous_hash": event.previous_hash,
        "hash": event.hash,
    }


def request_json(request: EscalationRequest) -> dict[str, Any]:
    return {
        "requested_at": instant(request.requested_at),
        "requested_level": request.requested_level,
        "outcome": request.outcome,
        "outcome_label": request.get_outcome_display(),
        "code": request.code,
        "escalation": request.escalation.number if request.escalation_id else None,
        "requester": request.requester_label,
        "requester_role": request.requester_role,
        "channel": request.channel,
        "reason": request.reason,
        "repeat_count": request.repeat_count,
        "last_requested_at": instant(request.last_requested_at),
    }


def incident_record(incident: Incident, now: datetime) -> dict[str, Any]:
    policy = incident.policy
    chain = next(iter(verify(Incident.objects.filter(pk=incident.pk))))
    broken = chain.broken
    return {
        "document": "Dossier d'incident Escalade",
        "generated_at": instant(now),
        "organisation": policy.organisation,
        "incident": {
            "request_number": incident.request_number,
            "customer": {"code": incident.customer.code, "name": incident.customer.name},
            "title": incident.title,
            "priority": incident.priority,
            "track": incident.track,
            "gtr": incident.gtr,
            "status": incident.status,
            "opened_at": instant(incident.opened_at),
            "reported_started_at": instant(incident.reported_started_at),
            "acknowledged_at": instant(incident.acknowledged_at),
            "resolved_at": instant(incident.resolved_at),
            "reopenings": incident.reopenings,
            "archived_at": instant(incident.archived_at),
        },
        "evaluation": evaluation_json(policy, evaluation_now(incident, now)),
        "pauses": [{"start": instant(p.start), "end": instant(p.end)} for p in incident.pauses.all()],
        "escalations": [escalation_json(e, incident=incident) for e in incident.escalations.order_by("level")],
        "escalation_requests": [
            request_json(r) for r in incident.escalation_requests.select_related("escalation").order_by("id")
        ],
        "timeline": [timeline_json(e) for e in incident.timeline.order_by("id")],
        "chain": {
            "entries": chain.entries,
            "head": chain.head,
            "intact": broken is None,
            "broken_at": None if broken is None else {"position": broken.position, "reason": broken.reason},
        },
    }
