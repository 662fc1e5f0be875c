"""The one place that changes incidents: create/update, events, and the cached evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from escalade.accounts.models import Role, User
from escalade.core.contract import (
    FactsError,
    check_priority,
    check_request_number,
    check_track,
    parse_instant,
)
from escalade.core.escalation import Evaluation, crossings, evaluate, next_change_at
from escalade.core.sla import State
from escalade.errors import Conflict, NotFound, ServiceError, incident_not_found
from escalade.incidents.models import (
    Channel,
    Customer,
    EventKind,
    Incident,
    IncidentPause,
    Status,
    TimelineEvent,
)
from escalade.policies import active_policy


def visible_incidents(user: User | None) -> QuerySet[Incident]:
    """The incidents a user may see: own organisation, managed customers, or all for staff."""
    incidents = Incident.objects.select_related("customer", "customer__partner")
    if user is None or not user.is_authenticated or not user.is_active:
        return incidents.none()
    if user.is_internal:
        return incidents
    if user.role == Role.CUSTOMER and user.customer_id:
        return incidents.filter(customer_id=user.customer_id)
    if user.role == Role.PARTNER and user.partner_id:
        return incidents.filter(customer__partner_id=user.partner_id)
    return incidents.none()


def visible_customers(user: User | None) -> QuerySet[Customer]:
    customers = Customer.objects.select_related("partner")
    if user is None or not user.is_authenticated:
        return customers.none()
    if user.is_internal:
        return customers
    if user.role == Role.CUSTOMER:
        return customers.filter(pk=user.customer_id)
    if user.role == Role.PARTNER:
        return customers.filter(partner_id=user.partner_id)
    return customers.none()


def get_visible_incident(user: User | None, request_number: str) -> Incident:
    incident = visible_incidents(user).filter(request_number=request_number).first()
    if incident is None:
        raise incident_not_found(request_number)
    return incident


def actor_label(user: User | None) -> str:
    if user is None:
        return "Escalade"
    return (user.get_full_name() or user.username)[:200]  # the size of the label columns


def record(
    incident: Incident,
    kind: str,
    at: datetime,
    *,
    user: User | None = None,
    channel: str = Channel.SYSTEM,
    label: str | None = None,
    crossing_key: str = "",
    **data: object,
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        incident=incident,
        kind=kind,
        occurred_at=at,
        actor=user,
        actor_label=label if label is not None else actor_label(user),
        channel=channel,
        crossing_key=crossing_key,
        data=data,
    )


def derive_status(incident: Incident, paused: bool | None = None) -> str:
    if incident.resolved_at is not None:
        return Status.RESOLVED
    if paused is None:
        paused = incident.pk is not None and incident.pauses.filter(end__isnull=True).exists()
    if paused:
        return Status.PAUSED
    if incident.acknowledged_at is not None:
        return Status.ACKNOWLEDGED
    return Status.OPEN


CACHE_FIELDS = [
    "take_charge_due_at",
    "take_charge_state",
    "resolution_due_at",
    "resolution_state",
    "allowed_level",
    "evaluated_at",
    "next_change_at",
    "status",
]


def cache_evaluation(incident: Incident, evaluation: Evaluation, now: datetime, paused: bool | None = None) -> None:
    """Copy the core's evaluation into the cached columns (not saved: callers save or bulk-update)."""
    tc, res = evaluation.commitments.take_charge, evaluation.commitments.resolution
    incident.take_charge_due_at = tc.due_at
    incident.take_charge_state = tc.state.value
    incident.resolution_due_at = res.due_at if res else None
    incident.resolution_state = res.state.value if res else ""
    incident.allowed_level = evaluation.escalation.level
    incident.evaluated_at = now
    incident.next_change_at = next_change_at(active_policy(), evaluation)
    incident.status = derive_status(incident, paused)


def refresh(incident: Incident, now: datetime) -> Evaluation:
    """Evaluate with the core and store the cache the worker and the reports read."""
    evaluation = incident.evaluate(active_policy(), now)
    cache_evaluation(incident, evaluation, now)
    if has_unrecorded_crossing(incident, evaluation):
        # Facts entered late (or a priority change) imply a crossing already past: due at once,
        # so the worker alerts now rather than at the next future crossing.
        incident.next_change_at = now
    incident.save(update_fields=[*CACHE_FIELDS, "updated_at"])
    return evaluation


def has_unrecorded_crossing(incident: Incident, evaluation: Evaluation) -> bool:
    past = {c.key for c in crossings(active_policy(), evaluation) if c.at <= evaluation.evaluated_at}
    if not past:
        return False
    recorded = set(incident.timeline.filter(crossing_key__in=past).values_list("crossing_key", flat=True))
    return bool(past - recorded)


def evaluation_now(incident: Incident, now: datetime) -> Evaluation:
    return evaluate(active_policy(), incident.facts(), now)


@dataclass(frozen=True)
class IncidentInput:
    request_number: object
    customer: str
    priority: str
    opened_at: object
    track: str | None = None
    gtr: bool | None = None
    acknowledged_at: object = None
    resolved_at: object = None
    title: str | None = None


def _instant(value: object, field: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ServiceError(
                "naive_instant", f"« {field} » n'indique pas de décalage horaire.", field=field
            )
        return value
    try:
        return parse_instant(value, field)
    except FactsError as exc:
        raise ServiceError(exc.code, exc.message, field=field) from None


TITLE_MAX = Incident._meta.get_field("title").max_length or 300


def _check(data: IncidentInput, now: datetime) -> tuple[str, datetime, datetime | None, datetime | None]:
    policy = active_policy()
    try:
        number = check_request_number(policy, data.request_number)
        check_priority(policy, data.priority)
        if data.track is not None:
            check_track(policy, data.track)
    except FactsError as exc:
        raise ServiceError(exc.code, exc.message, field=exc.field) from None
    if data.title is not None and len(data.title) > TITLE_MAX:
        raise ServiceError("title_too_long", f"Le titre dépasse {TITLE_MAX} caractères.", field="title")
    opened = _instant(data.opened_at, "opened_at")
    if opened is None:
        raise ServiceError("missing_opened_at", "La date d'ouverture « opened_at » est obligatoire.")
    if opened > now:
        raise ServiceError("opened_in_future", "La date d'ouverture est dans le futur.")
    acknowledged = _instant(data.acknowledged_at, "acknowledged_at")
    resolved = _instant(data.resolved_at, "resolved_at")
    if acknowledged is not None and acknowledged < opened:
        raise ServiceError(
            "acknowledged_before_opened", "La prise en charge précède l'ouverture de l'incident."
        )
    if resolved is not None and resolved < opened:
        raise ServiceError("resolved_before_opened", "La résolution précède l'ouverture de l'incident.")
    return number, opened, acknowledged, resolved


@dataclass(frozen=True)
class CheckedInput:
    """An IncidentInput whose values passed `check_incident_input`."""

    data: IncidentInput
    request_number: str
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


def check_incident_input(data: IncidentInput, now: datetime) -> CheckedInput:
    return CheckedInput(data, *_check(data, now))


# Customers and partners declare incidents; HIPCOM qualifies them. Facts that move the clocks or the
# commitments (taking charge, resolution, priority, GTR, opening instant, track) belong to staff.
RESERVED_FIELDS = ("priority", "track", "gtr", "opened_at", "acknowledged_at", "resolved_at")


def check_customer_write(user: User | None, checked: CheckedInput, incident: Incident | None, customer: Customer) -> None:
    """403 when a customer or partner would set or change a fact reserved to HIPCOM staff."""
    if user is None or user.is_internal:
        return
    data = checked.data
    if incident is None:
        wanted = {
            "acknowledged_at": checked.acknowledged_at is not None,
            "resolved_at": checked.resolved_at is not None,
            "gtr": data.gtr is not None and data.gtr != customer.gtr,
        }
    else:
        wanted = {
            "priority": data.priority != incident.priority,
            "track": data.track is not None and data.track != incident.track,
            "gtr": data.gtr is not None and data.gtr != incident.gtr,
            "opened_at": checked.opened_at != incident.opened_at,
            "acknowledged_at": checked.acknowledged_at is not None
            and checked.acknowledged_at != incident.acknowledged_at,
            "resolved_at": checked.resolved_at is not None and checked.resolved_at != incident.resolved_at,
        }
    fields = [f for f in RESERVED_FIELDS if wanted.get(f)]
    if fields:
        names = ", ".join(f"« {f} »" for f in fields)
        raise ServiceError(
            "reserved_to_staff",
            f"Seule l'équipe HIPCOM peut fixer ou modifier {names} d'un incident.",
            status=403,
            fields=fields,
        )


def assign_input(
    incident: Incident | None,
    checked: CheckedInput,
    customer: Customer,
    *,
    user: User | None,
    channel: str,
    now: datetime,
) -> tuple[Incident, bool, list[TimelineEvent]]:
    """Set the facts on a new or existing incident; returns it, whether it is new, and the timeline
    events this implies (unsaved: the caller saves them after the incident)."""
    data = checked.data
    created = incident is None
    if incident is None:
        incident = Incident(request_number=checked.request_number, customer=customer, created_at=now)
    internal = user is None or user.is_internal
    old_priority = incident.priority
    incident.priority = data.priority
    incident.track = data.track or (incident.track if not created else active_policy().default_track)
    if data.gtr is not None:
        incident.gtr = data.gtr
    elif created or internal:
        incident.gtr = customer.gtr  # defaults to the contract
    incident.opened_at = checked.opened_at
    if data.title is not None:
        incident.title = data.title
    was_acknowledged, was_resolved = incident.acknowledged_at, incident.resolved_at
    # A customer's or partner's update leaves HIPCOM's own facts as they are.
    if internal or checked.acknowledged_at is not None:
        incident.acknowledged_at = checked.acknowledged_at
    if internal or checked.resolved_at is not None:
        incident.resolved_at = checked.resolved_at
    label = actor_label(user)

    def event(kind: str, at: datetime, **payload: object) -> TimelineEvent:
        return TimelineEvent(incident=incident, kind=kind, occurred_at=at, actor=user, actor_label=label,
                             channel=channel, data=payload, recorded_at=now)

    events = []
    if created:
        events.append(event(EventKind.CREATED, checked.opened_at, priority=data.priority))
    else:
        events.append(event(EventKind.UPDATED, now))
        if old_priority != data.priority:
            events.append(event(EventKind.PRIORITY_CHANGED, now, **{"from": old_priority, "to": data.priority}))
    if incident.acknowledged_at is not None and was_acknowledged != incident.acknowledged_at:
        events.append(event(EventKind.ACKNOWLEDGED, incident.acknowledged_at))
    if incident.resolved_at is not None and was_resolved != incident.resolved_at:
        events.append(event(EventKind.RESOLVED, incident.resolved_at))
    return incident, created, events


def customer_in_scope(code: str, customers: QuerySet[Customer] | None) -> Customer:
    scope = customers if customers is not None else Customer.objects.all()
    customer = scope.select_related("contract").filter(code=code).first()
    if customer is None:
        raise NotFound("customer_not_found", f"Aucun client ne porte le code « {code} ».")
    return customer


def check_same_customer(incident: Incident, customer: Customer, customers: QuerySet[Customer] | None) -> None:
    if incident.customer_id == customer.pk:
        return
    if customers is not None and not customers.filter(pk=incident.customer_id).exists():
        raise incident_not_found(incident.request_number)  # someone else's number: same as unknown
    raise Conflict(
        "customer_mismatch",
        f"L'incident « {incident.request_number} » appartient à un autre client ; "
        "il ne peut pas changer de client.",
    )


def upsert_incident(
    data: IncidentInput,
    *,
    user: User | None,
    channel: str,
    now: datetime,
    customers: QuerySet[Customer] | None = None,
) -> tuple[Incident, bool]:
    """Create, or update by request number (for integrations). Returns (incident, created).

    `customers` limits which customers the caller may write for (out of scope → 404). Customers and
    partners may not set or change the facts reserved to staff (`RESERVED_FIELDS`, 403).
    """
    checked = check_incident_input(data, now)
    customer = customer_in_scope(data.customer, customers)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(request_number=checked.request_number).first()
        if incident is not None:
            check_same_customer(incident, customer, customers)
        check_customer_write(user, checked, incident, customer)
        incident, created, events = assign_input(incident, checked, customer, user=user, channel=channel, now=now)
        incident.save()
        TimelineEvent.objects.bulk_create(events)
        refresh(incident, now)
    return incident, created


EVENT_KINDS = ("acknowledge", "resolve", "pause", "resume", "reopen", "change_priority")
# Customers and partners may resume a pause ("the information was sent") and reopen a resolved
# incident ("it is not fixed"); taking charge, resolving, pausing and changing the priority are
# HIPCOM's acts.
CUSTOMER_EVENTS = ("resume", "reopen")


def check_event_allowed(user: User | None, kind: str) -> None:
    if user is None or user.is_internal or kind in CUSTOMER_EVENTS:
        return
    raise ServiceError(
        "event_reserved_to_staff",
        f"Seule l'équipe HIPCOM peut enregistrer l'événement « {kind} » ; un client ou un partenaire "
        "peut seulement reprendre (resume) ou rouvrir (reopen) un incident.",
        status=403,
    )


def apply_event(
    incident: Incident,
    kind: str,
    *,
    user: User | None,
    channel: str,
    now: datetime,
    at: datetime | None = None,
    priority: str | None = None,
    note: str = "",
) -> Incident:
    """Acknowledge, resolve, pause, resume, reopen or change priority, with its timeline event.

    The caller has already found the incident in the user's scope (out of scope is a 404 first)."""
    check_event_allowed(user, kind)
    at = at or now
    if at.tzinfo is None:
        raise ServiceError("naive_instant", "L'instant de l'événement n'indique pas de décalage horaire.")
    if at > now:
        raise ServiceError("event_in_future", "L'instant de l'événement est dans le futur.")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if at < incident.opened_at:
            raise ServiceError("event_before_opened", "L'événement précède l'ouverture de l'incident.")
        open_pause = incident.pauses.filter(end__isnull=True).first()
        resolved = incident.resolved_at is not None
        extra: dict[str, object] = {"note": note} if note else {}
        if kind == "acknowledge":
            if incident.acknowledged_at is not None:
                raise Conflict("already_acknowledged", "L'incident est déjà pris en charge.")
            incident.acknowledged_at = at
            event = EventKind.ACKNOWLEDGED
        elif kind == "resolve":
            if resolved:
                raise Conflict("already_resolved", "L'incident est déjà résolu.")
            incident.resolved_at = at
            if open_pause is not None:
                open_pause.end = max(at, open_pause.start)
                open_pause.save(update_fields=["end"])
            event = EventKind.RESOLVED
        elif kind == "pause":
            if resolved:
                raise Conflict("incident_resolved", "L'incident est résolu : il ne peut pas être mis en attente.")
            if open_pause is not None:
                raise Conflict("already_paused", "L'incident est déjà en attente client.")
            last = incident.pauses.order_by("-start").first()
            if last is not None and last.end is not None and at < last.end:
                raise ServiceError("overlapping_pauses", "La pause chevaucherait la précédente.")
            IncidentPause.objects.create(incident=incident, start=at)
            event = EventKind.PAUSED
        elif kind == "resume":
            if open_pause is None:
                raise Conflict("not_paused", "L'incident n'est pas en attente client.")
            if at < open_pause.start:
                raise ServiceError("resume_before_pause", "La reprise précède le début de la pause.")
            open_pause.end = at
            open_pause.save(update_fields=["end"])
            event = EventKind.RESUMED
        elif kind == "reopen":
            if not resolved:
                raise Conflict("not_resolved", "L'incident n'est pas résolu.")
            extra["previously_resolved_at"] = incident.resolved_at.isoformat() if incident.resolved_at else None
            incident.resolved_at = None
            event = EventKind.REOPENED
        elif kind == "change_priority":
            try:
                priority = check_priority(active_policy(), priority)
            except FactsError as exc:
                raise ServiceError(exc.code, exc.message, field=exc.field) from None
            if priority == incident.priority:
                raise Conflict("same_priority", "L'incident a déjà cette priorité.")
            extra.update({"from": incident.priority, "to": priority})
            incident.priority = priority
            event = EventKind.PRIORITY_CHANGED
        else:
            raise ServiceError("unknown_event", f"Événement inconnu « {kind} » (attendu : {', '.join(EVENT_KINDS)}).")
        incident.save()
        record(incident, event, at, user=user, channel=channel, **extra)
        refresh(incident, now)
    return incident


def is_breached(state: str) -> bool:
    return state in (State.BREACHED.value, State.MISSED.value)


__all__ = [
    "EVENT_KINDS",
    "IncidentInput",
    "NotFound",
    "apply_event",
    "evaluation_now",
    "get_visible_incident",
    "record",
    "refresh",
    "upsert_incident",
    "visible_customers",
    "visible_incidents",
]
