"""Models → the JSON the API answers. Instants in the policy's zone, as SPEC §2 writes them.

Escalations and timeline entries are written as in an incident's record (escalations.record)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from escalade import compiled
from escalade.core.calendar import WEEKDAYS
from escalade.core.contract import contact_json, evaluation_json, whole_minutes
from escalade.core.escalation import Evaluation
from escalade.core.policy import Policy
from escalade.escalations.models import Escalation
from escalade.escalations.record import escalation_json, instant
from escalade.incidents.models import Incident
from escalade.policies import store


def customer_json(incident: Incident) -> dict[str, Any]:
    customer = incident.customer
    return {
        "code": customer.code,
        "name": customer.name,
        "partner": customer.partner.code if customer.partner_id else None,
        "policy": customer.policy_name,
    }


def incident_summary(incident: Incident, evaluation: Evaluation) -> dict[str, Any]:
    policy = incident.policy
    return {
        "request_number": incident.request_number,
        "customer": customer_json(incident),
        "title": incident.title,
        "priority": incident.priority,
        "track": incident.track,
        "gtr": incident.gtr,
        "status": incident.status,
        "opened_at": instant(incident.opened_at),
        "acknowledged_at": instant(incident.acknowledged_at),
        "resolved_at": instant(incident.resolved_at),
        "escalated_level": incident.escalated_level,
        "policy": policy_version_json(incident.policy_version_id),
        "evaluation": evaluation_json(policy, evaluation),
    }


def incident_detail(incident: Incident, evaluation: Evaluation) -> dict[str, Any]:
    body = incident_summary(incident, evaluation)
    body["pauses"] = [{"start": instant(p.start), "end": instant(p.end)} for p in incident.pauses.all()]
    # `escalated_level` is raised with every escalation granted, in its transaction, and never
    # lowered: at 0 there is none to read (nearly every incident; one query less per detail).
    escalations = compiled.fetch("by level", _escalations, incident.pk) if incident.escalated_level else []
    body["escalations"] = [escalation_json(e, incident=incident) for e in escalations]
    return body


def _escalations(incident_id: int) -> QuerySet[Escalation]:
    return Escalation.objects.filter(incident_id=incident_id).order_by("level")


def policy_version_json(version_id: int | None) -> dict[str, Any]:
    """The version an incident's commitments are pinned to."""
    info = store.latest() if version_id is None else store.version(version_id)
    return {"name": info.name, "version": info.number}


def contacts_json(policy: Policy, level: int, track: str) -> list[dict[str, Any]]:
    return [contact_json(c) for c in policy.contacts_for(level, track)]


def policy_json(policy: Policy, info: store.VersionInfo) -> dict[str, Any]:
    """A policy version as data: what the procedure page and integrations read."""
    return {
        "name": info.name,
        "version": info.number,
        "organisation": policy.organisation,
        "timezone": policy.timezone.key,
        "request_number_pattern": policy.request_number_pattern.pattern,
        "request_number_example": policy.request_number_example,
        "levels": list(policy.levels),
        "priorities": [
            {
                "key": rule.key,
                "label": rule.label,
                "meaning": rule.meaning,
                "description": rule.description,
                "escalable": rule.escalable,
                "take_charge": {
                    "target_minutes": whole_minutes(rule.take_charge.target),
                    "clock": rule.take_charge.clock,
                },
                "resolution": None
                if rule.resolution is None
                else {
                    "target_minutes": whole_minutes(rule.resolution.target),
                    "clock": rule.resolution.clock,
                    "requires_gtr": rule.resolution.requires_gtr,
                },
                "escalation_thresholds_minutes": [whole_minutes(t) for t in rule.thresholds],
            }
            for rule in policy.priorities.values()
        ],
        "tracks": [
            {"key": t.key, "label": t.label, "phone": t.phone, "default": t.default}
            for t in policy.tracks.values()
        ],
        "contacts": [{**contact_json(c), "track": c.track, "team": c.team} for c in policy.contacts],
        "calendars": [calendar_json(policy, name) for name in policy.calendars],
        "notifications": {
            "inform_lower_levels": policy.notifications.inform_lower_levels,
            "warning_lead_24_7_minutes": whole_minutes(policy.notifications.warning_lead_24_7),
            "warning_lead_business_minutes": whole_minutes(policy.notifications.warning_lead_business),
            "auto_escalate": policy.notifications.auto_escalate,
            "ack_reminder_after_minutes": whole_minutes(policy.notifications.ack_reminder_after),
            "ack_reminder_max": policy.notifications.ack_reminder_max,
        },
    }


def _ranges(ranges: Any) -> list[str]:
    return [f"{r.start:%H:%M}-{'24:00' if r.end is None else format(r.end, '%H:%M')}" for r in ranges]


def calendar_json(policy: Policy, name: str) -> dict[str, Any]:
    calendar = policy.calendars[name]
    return {
        "name": name,
        "label": calendar.label,
        "timezone": policy.timezone.key,
        "country": calendar.country,
        "subdivision": calendar.subdivision,
        "hours": {day: _ranges(calendar.weekly.get(i, ())) for i, day in enumerate(WEEKDAYS)},
        "closed_dates": sorted(d.isoformat() for d in calendar.closed_dates),
        "open_dates": [
            {"date": d.isoformat(), "hours": _ranges(r)} for d, r in sorted(calendar.open_dates.items())
        ],
    }
