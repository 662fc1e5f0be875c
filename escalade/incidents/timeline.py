"""Writing the incident's timeline: append-only, one row per fact, act or crossing, each sealed in
its incident's hash chain (incidents.audit)."""

from __future__ import annotations

from datetime import datetime

from escalade import bulk
from escalade.accounts.models import User
from escalade.incidents.audit import append_to_timeline
from escalade.incidents.models import Channel, Incident, TimelineEvent

LABEL_MAX = TimelineEvent._meta.get_field("actor_label").max_length or 200


def actor_label(user: User | None) -> str:
    if user is None:
        return "Escalade"
    return (user.get_full_name() or user.username)[:LABEL_MAX]


def record(
    incident: Incident,
    kind: str,
    at: datetime,
    *,
    user: User | None = None,
    channel: str = Channel.SYSTEM,
    label: str | None = None,
    crossing_key: str = "",
    head: str | None = None,
    **data: object,
) -> TimelineEvent:
    """Append one entry to the incident's timeline. `head`: the chain's head, read with the incident's
    lock in this transaction (`lock_incident`), so it is not looked up again."""
    # Built as `TimelineEvent(...)` builds it, without its per-field __init__ (every request that acts
    # writes one).
    event = bulk.new(
        TimelineEvent,
        incident=incident,
        kind=kind,
        occurred_at=at,
        actor=user,
        actor_label=label if label is not None else actor_label(user),
        channel=channel,
        crossing_key=crossing_key,
        data=data,
    )
    return append_to_timeline([event], known=None if head is None else {incident.pk: head})[0]
