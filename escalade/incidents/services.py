"""The one place that changes incidents (Zulip's `do_*`): create or update, and one function per event.

Each runs in one transaction that checks, writes the facts, records the timeline and refreshes the
cached evaluation; API, pages, CLI, import and worker call these. The caller has already found the
incident in the user's scope (out of scope is a 404 first, like unknown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from escalade import bulk, compiled
from escalade.accounts.models import User
from escalade.accounts.permissions import check_may_record_event, is_internal
from escalade.core.contract import FactsError, check_priority
from escalade.core.escalation import Evaluation
from escalade.core.policy import Policy
from escalade.errors import Conflict, NotFound, ServiceError, incident_not_found
from escalade.incidents.audit import append_to_timeline, with_chain
from escalade.incidents.checks import (
    CheckedInput,
    IncidentInput,
    check_customer_write,
    check_incident_input,
    service_error,
)
from escalade.incidents.evaluation import evaluation_now, refresh
from escalade.incidents.models import (
    Customer,
    EventKind,
    Incident,
    IncidentPause,
    RequestNumberSequence,
    TimelineEvent,
    reader_scope,
)
from escalade.incidents.timeline import actor_label, record
from escalade.policies import store


def get_visible_incident(user: User | None, request_number: str) -> Incident:
    # Its pauses with it: every caller evaluates it, and the API's detail lists them too.
    # The SQL compiled once per kind of scope (escalade.compiled): writing it again took most of
    # an API detail's time.
    return _numbered_incident(reader_scope(user), request_number, locked=False)


def lock_incident(user: User | None, request_number: str) -> Incident:
    """`get_visible_incident`, its row locked until the caller's transaction ends; `user` None is the
    system itself, which sees every incident. Read with it (`audit.with_chain`): its timeline's head
    (`timeline_head`, for `record(head=…)`) and its recorded crossings (which `refresh` then does
    not read again): two statements fewer in an escalation request."""
    return _numbered_incident((None, 0) if user is None else reader_scope(user), request_number, locked=True)


def _numbered_incident(scope: tuple[str | None, int] | None, number: str, *, locked: bool) -> Incident:
    if scope is None:
        raise incident_not_found(number)
    kind = scope[0]
    found = compiled.fetch((kind, locked), _numbered(kind, locked), number, *_bound_scope(scope))
    if not found:
        raise incident_not_found(number)
    with_pauses(found)
    return found[0]


def _bound_scope(scope: tuple[str | None, int]) -> tuple[int, ...]:
    """The scope's id as a value bound to the SQL (a customer's or partner's id is never part of
    it); none for everything."""
    return () if scope[0] is None else (scope[1],)


def _numbered(kind: str | None, locked: bool) -> Callable[..., QuerySet[Incident]]:
    """The incident of a number within a scope of `kind` (None: all)."""
    def build(number: str, pk: int = 0) -> QuerySet[Incident]:
        incidents = _noting_pauses(Incident.objects.within((kind, pk)))
        if locked:
            incidents = with_chain(incidents).select_for_update(of=("self",))
        return incidents.filter(request_number=number)[:1]
    return build


# The list's filters: a name → the lookup it filters on.
LIST_FILTERS = {"status": "status", "priority": "priority", "track": "track", "customer": "customer__code"}
# What a list's summary neither shows nor evaluates: the cached evaluation (the list evaluates now)
# and the bookkeeping. Not read, not converted (a tenth of the list's time went to reading instants).
UNLISTED = ("reported_started_at", "take_charge_due_at", "take_charge_state", "resolution_due_at",
            "resolution_state", "allowed_level", "evaluated_at", "next_change_at", "next_due_at", "awaiting_ack",
            "triage", "archived_at", "created_at", "updated_at")


def visible_incidents_page(
    user: User | None, filters: dict[str, str], offset: int, limit: int
) -> tuple[list[Incident], int, bool]:
    """A page of the incidents a user may see, newest first, with their pauses; `filters` maps
    LIST_FILTERS' names to a value (empty: not filtered). Returns the page, and the count of all the
    rows and whether it is exact (`bulk.count_rows`)."""
    scope = reader_scope(user)
    if scope is None:
        return [], 0, True
    kind = scope[0]
    names = tuple(name for name in LIST_FILTERS if filters.get(name))
    values = (*_bound_scope(scope), *(filters[name] for name in names))
    shape = (kind, names)  # one SQL per kind of scope and set of filters; the values are bound
    count, exact = bulk.count_rows(*compiled.statement(shape, _counted(kind, names), *values))
    if exact and offset >= count:  # past the last page (an estimate may be below the rows there are)
        return [], count, exact
    page = compiled.fetch(shape, _listed(kind, names), *values, window=(offset, limit))
    with_pauses(page)
    return page, count, exact


def _listed(kind: str | None, names: tuple[str, ...]) -> Callable[..., QuerySet[Incident]]:
    def build(*values: str | int) -> QuerySet[Incident]:
        pk, given = (values[0], values[1:]) if kind is not None else (0, values)
        # No `has_pauses` here: for a page PostgreSQL hashes the whole pause table to answer it.
        incidents = Incident.objects.within((kind, pk)).defer(*UNLISTED)  # type: ignore[arg-type]
        return incidents.filter(**{LIST_FILTERS[n]: v for n, v in zip(names, given, strict=True)}).order_by(
            "-opened_at", "-id")
    return build


def _counted(kind: str | None, names: tuple[str, ...]) -> Callable[..., QuerySet[Incident]]:
    listed = _listed(kind, names)
    return lambda *values: listed(*values).order_by().values("pk")


def _noting_pauses(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """Each incident with `has_pauses`, read in the same SQL (an index probe for one incident):
    `with_pauses` then skips the query for those that never paused, nearly all of them."""
    return incidents.annotate(has_pauses=Exists(IncidentPause.objects.filter(incident=OuterRef("pk"))))


def with_pauses(incidents: list[Incident]) -> None:
    """Read the incidents' pauses as `prefetch_related("pauses")` would leave them (`incident.pauses
    .all()` reads no more), by one compiled query per number of incidents: Django's prefetch wrote
    its SQL again each time (a sixth of an API list's time). None for an incident read with
    `has_pauses` false (`_noting_pauses`): a sixth of an API detail's time went to that query."""
    if not incidents:
        return
    by_incident: dict[int, list[IncidentPause]] = {incident.pk: [] for incident in incidents}
    # Each id once: the delivery's rows bring one incident per alert, often several for one incident.
    paused = list(dict.fromkeys(incident.pk for incident in incidents if getattr(incident, "has_pauses", True)))
    if paused:
        for pause in compiled.fetch(len(paused), _pauses, *paused):
            by_incident[pause.incident_id].append(pause)
    for incident in incidents:
        # Filtered on the incident's id, so that a later .filter() stays in it, but holding no
        # reference to the incident: the related manager's queryset (and Django's prefetch) does,
        # a reference cycle that only the cycle collector frees (15 % of an API list's CPU).
        pauses = IncidentPause.objects.get_queryset()  # a new queryset: no clone of a query
        pauses._deferred_filter = (False, (), {"incident_id": incident.pk})  # built if used, as the manager's
        pauses._result_cache = by_incident[incident.pk]
        pauses._prefetch_done = True
        incident._prefetched_objects_cache = {"pauses": pauses}


def _pauses(*incident_ids: int) -> QuerySet[IncidentPause]:
    return IncidentPause.objects.filter(incident_id__in=incident_ids)


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
        # Pinned to the latest version of its contract's policy: its commitments for life.
        incident = bulk.new(Incident, request_number=checked.request_number, customer=customer, created_at=now,
                            policy_version_id=store.latest(customer.policy_name).id)
    internal = is_internal(user)
    old_priority = incident.priority
    incident.priority = data.priority
    incident.track = data.track or (incident.track if not created else incident.policy.default_track)
    if data.gtr is not None:
        incident.gtr = data.gtr
    elif created or internal:
        incident.gtr = customer.gtr  # defaults to the contract
    incident.opened_at = checked.opened_at
    if data.title is not None:
        incident.title = data.title
    if checked.reported_started_at is not None:
        incident.reported_started_at = checked.reported_started_at
    was_acknowledged, was_resolved = incident.acknowledged_at, incident.resolved_at
    # A customer's or partner's update leaves the provider's own facts as they are.
    if internal or checked.acknowledged_at is not None:
        incident.acknowledged_at = checked.acknowledged_at
    if internal or checked.resolved_at is not None:
        incident.resolved_at = checked.resolved_at
    reopened = was_resolved is not None and incident.resolved_at is None  # the helpdesk reopened it
    if reopened:
        incident.reopenings = [*incident.reopenings, {"resolved_at": was_resolved.isoformat(),
                                                      "reopened_at": now.isoformat()}]
    label = actor_label(user)

    def event(kind: str, at: datetime, **payload: object) -> TimelineEvent:
        return bulk.new(TimelineEvent, incident=incident, kind=kind, occurred_at=at, actor=user, actor_label=label,
                        channel=channel, data=payload, recorded_at=now)

    events = []
    if created:
        reported = checked.reported_started_at
        events.append(event(EventKind.CREATED, checked.opened_at, priority=data.priority,
                            **({"reported_started_at": reported.isoformat()} if reported else {})))
    else:
        events.append(event(EventKind.UPDATED, now))
        if old_priority != data.priority:
            events.append(event(EventKind.PRIORITY_CHANGED, now, **{"from": old_priority, "to": data.priority}))
    if incident.acknowledged_at is not None and was_acknowledged != incident.acknowledged_at:
        events.append(event(EventKind.ACKNOWLEDGED, incident.acknowledged_at))
    if incident.resolved_at is not None and was_resolved != incident.resolved_at:
        events.append(event(EventKind.RESOLVED, incident.resolved_at))
    if reopened and was_resolved is not None:
        events.append(event(EventKind.REOPENED, now, previously_resolved_at=was_resolved.isoformat()))
    return incident, created, events


def customer_in_scope(code: str, customers: QuerySet[Customer] | None) -> Customer:
    scope = customers if customers is not None else Customer.objects.all()
    customer = scope.select_related("contract").filter(code=code).first()
    if customer is None:
        raise NotFound("customer_not_found", _("Aucun client ne porte le code « {code} ».").format(code=code))
    return customer


def check_same_customer(incident: Incident, customer: Customer, customers: QuerySet[Customer] | None) -> None:
    if incident.customer_id == customer.pk:
        return
    if customers is not None and not customers.filter(pk=incident.customer_id).exists():
        raise incident_not_found(incident.request_number)  # someone else's number: same as unknown
    raise Conflict(
        "customer_mismatch",
        _("L'incident « {number} » appartient à un autre client ; il ne peut pas changer de client.")
        .format(number=incident.request_number),
    )


def next_request_number(policy: Policy) -> str:
    """The next number for a declared incident (the customer's policy's prefix + sequence), under a
    row lock; a number the helpdesk already used is skipped."""
    prefix = policy.declared_request_number_prefix
    RequestNumberSequence.objects.get_or_create(prefix=prefix)
    sequence = RequestNumberSequence.objects.select_for_update().get(prefix=prefix)
    while True:
        sequence.last += 1
        number = policy.declared_request_number(sequence.last)
        if not Incident.objects.filter(request_number=number).exists():
            break
    sequence.save(update_fields=["last"])
    return number


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
    partners declare: no number (Escalade gives one) or the number of one of their incidents, the
    clocks starting at reception; they may not set or change the facts reserved to staff
    (`RESERVED_FIELDS`, 403).
    """
    declared = not is_internal(user)
    customer = customer_in_scope(data.customer, customers)
    checked = check_incident_input(data, now, declared=declared, policy=customer.policy)
    with transaction.atomic():
        incident = None
        if not checked.request_number:
            checked = replace(checked, request_number=next_request_number(customer.policy))
        else:
            incident = Incident.objects.select_for_update().filter(request_number=checked.request_number).first()
            if incident is None and declared:
                # Customers do not choose numbers (the helpdesk does): an unknown one is unknown,
                # exactly like someone else's, so nothing can be probed or squatted.
                raise incident_not_found(checked.request_number)
        if incident is not None:
            check_same_customer(incident, customer, customers)
            if declared:
                checked = replace(checked, opened_at=incident.opened_at)  # the opening stays staff's
        check_customer_write(user, checked, incident, customer)
        incident, created, events = assign_input(incident, checked, customer, user=user, channel=channel, now=now)
        incident.save()
        append_to_timeline(events)
        refresh(incident, now)
    return incident, created


EVENT_KINDS = ("acknowledge", "resolve", "pause", "resume", "reopen", "change_priority", "archive")


def _open_pause(incident: Incident) -> IncidentPause | None:
    return incident.pauses.filter(end__isnull=True).first()


def do_acknowledge(incident: Incident, at: datetime, extra: dict[str, object]) -> str:
    if incident.acknowledged_at is not None:
        raise Conflict("already_acknowledged", _("L'incident est déjà pris en charge."))
    incident.acknowledged_at = at
    return EventKind.ACKNOWLEDGED


def do_resolve(incident: Incident, at: datetime, extra: dict[str, object]) -> str:
    if incident.resolved_at is not None:
        raise Conflict("already_resolved", _("L'incident est déjà résolu."))
    incident.resolved_at = at
    pause = _open_pause(incident)
    if pause is not None:  # a resolution during a pause ends it
        pause.end = max(at, pause.start)
        pause.save(update_fields=["end"])
    return EventKind.RESOLVED


def do_pause(incident: Incident, at: datetime, extra: dict[str, object]) -> str:
    if incident.resolved_at is not None:
        raise Conflict("incident_resolved", _("L'incident est résolu : il ne peut pas être mis en attente."))
    if _open_pause(incident) is not None:
        raise Conflict("already_paused", _("L'incident est déjà en attente client."))
    last = incident.pauses.order_by("-start").first()
    if last is not None and last.end is not None and at < last.end:
        raise ServiceError("overlapping_pauses", _("La pause chevaucherait la précédente."))
    IncidentPause.objects.create(incident=incident, start=at)
    return EventKind.PAUSED


def do_resume(incident: Incident, at: datetime, extra: dict[str, object]) -> str:
    pause = _open_pause(incident)
    if pause is None:
        raise Conflict("not_paused", _("L'incident n'est pas en attente client."))
    if at < pause.start:
        raise ServiceError("resume_before_pause", _("La reprise précède le début de la pause."))
    pause.end = at
    pause.save(update_fields=["end"])
    return EventKind.RESUMED


def do_reopen(incident: Incident, at: datetime, extra: dict[str, object]) -> str:
    """The resolution clock resumes; the time spent resolved counts on no clock and never as overdue."""
    if incident.resolved_at is None:
        raise Conflict("not_resolved", _("L'incident n'est pas résolu."))
    if incident.archived_at is not None:
        raise Conflict("archived", _("L'incident est archivé : il ne peut plus être rouvert."))
    if at < incident.resolved_at:
        raise ServiceError("reopen_before_resolution", _("La réouverture précède la résolution de l'incident."))
    extra["previously_resolved_at"] = incident.resolved_at.isoformat()
    incident.reopenings = [*incident.reopenings, {"resolved_at": incident.resolved_at.isoformat(),
                                                  "reopened_at": at.isoformat()}]
    incident.resolved_at = None
    return EventKind.REOPENED


def do_change_priority(incident: Incident, at: datetime, extra: dict[str, object], priority: object) -> str:
    try:
        checked = check_priority(incident.policy, priority)
    except FactsError as exc:
        raise service_error(exc) from None
    if checked == incident.priority:
        raise Conflict("same_priority", _("L'incident a déjà cette priorité."))
    extra.update({"from": incident.priority, "to": checked})
    incident.priority = checked
    return EventKind.PRIORITY_CHANGED


def do_archive(incident: Incident, at: datetime, extra: dict[str, object]) -> str:
    """Out of the working views and the watcher, never erased: its record stays whole."""
    if incident.resolved_at is None:
        raise Conflict("not_resolved", _("Seul un incident résolu peut être archivé."))
    if incident.archived_at is not None:
        raise Conflict("already_archived", _("L'incident est déjà archivé."))
    if at < incident.resolved_at:
        raise ServiceError("archive_before_resolution", _("L'archivage précède la résolution de l'incident."))
    incident.archived_at = at
    return EventKind.ARCHIVED


EVENTS: dict[str, Callable[[Incident, datetime, dict[str, object]], str]] = {
    "acknowledge": do_acknowledge,
    "resolve": do_resolve,
    "pause": do_pause,
    "resume": do_resume,
    "reopen": do_reopen,
    "archive": do_archive,
}


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
    """Record one event (acknowledge, resolve, pause, resume, reopen, change_priority) at `at`
    (default: now), with its timeline entry and the refreshed evaluation."""
    check_may_record_event(user, kind)
    if kind not in EVENT_KINDS:
        raise ServiceError("unknown_event", _("Événement inconnu « {kind} » (attendu : {expected}).").format(
            kind=kind, expected=", ".join(EVENT_KINDS)))
    at = at or now
    if at.tzinfo is None:
        raise ServiceError("naive_instant", _("L'instant de l'événement n'indique pas de décalage horaire."))
    if at > now:
        raise ServiceError("event_in_future", _("L'instant de l'événement est dans le futur."))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if at < incident.opened_at:
            raise ServiceError("event_before_opened", _("L'événement précède l'ouverture de l'incident."))
        extra: dict[str, object] = {"note": note} if note else {}
        if kind == "change_priority":
            event = do_change_priority(incident, at, extra, priority)
        else:
            event = EVENTS[kind](incident, at, extra)
        incident.save()
        record(incident, event, at, user=user, channel=channel, **extra)
        refresh(incident, now)
    return incident


def repin_open_incidents(name: str, number: int, *, user: User | None, channel: str, now: datetime) -> int:
    """An operator's deliberate choice: the open incidents under policy `name` take version `number`'s
    commitments from now on. Each one's timeline records the versions and its deadlines before and
    after; an incident already on that version is left alone. Returns how many moved."""
    target = store.find(name, number)
    others = [info.id for info in store.versions_of(name) if info.id != target.id]
    moved = 0
    with transaction.atomic():
        incidents = (Incident.objects.select_for_update().filter(resolved_at__isnull=True, archived_at__isnull=True,
                                                                   policy_version_id__in=others)
                     .prefetch_related("pauses"))
        for incident in incidents:
            before = _deadlines(evaluation_now(incident, now))
            previous = store.version(incident.policy_version_id)  # type: ignore[arg-type]
            incident.policy_version_id = target.id
            evaluation = evaluation_now(incident, now)
            if incident.priority not in incident.policy.priorities:
                raise Conflict("priority_not_in_version",
                               _("L'incident « {number} » a la priorité « {priority} », que la version {version} "
                                 "ne connaît pas : rien n'a été appliqué.").format(
                                   number=incident.request_number, priority=incident.priority, version=number))
            incident.save(update_fields=["policy_version", "updated_at"])
            record(incident, EventKind.POLICY_APPLIED, now, user=user, channel=channel,
                   policy=name, **{"from": previous.number, "to": number}, before=before,
                   after=_deadlines(evaluation))
            refresh(incident, now, evaluation)
            moved += 1
    return moved


def _deadlines(evaluation: Evaluation) -> dict[str, str | None]:
    """An incident's deadlines as its timeline keeps them (ISO-8601, UTC)."""
    tc, res = evaluation.commitments.take_charge, evaluation.commitments.resolution
    return {"take_charge_due_at": tc.due_at.isoformat() if tc.due_at else None,
            "resolution_due_at": res.due_at.isoformat() if res and res.due_at else None}
