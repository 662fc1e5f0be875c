"""Data at scale for benchmarks and load tests: `escalade demo --incidents N [--open M]`.

A realistic mix over two years: customers (a tenth of them managed by a partner), every priority
and track of the policy in force, incidents taken in charge and resolved on time or late, pauses,
customer escalations at the first level that opened, staff acknowledgements. The stored deadlines
and states are the core's (`evaluate`, `cache_evaluation`), and every crossing already past is in
the timeline as the worker records it, so the worker starts with nothing overdue to catch up. The
rows go in by batches with COPY (PostgreSQL) or executemany (SQLite), in one transaction per batch,
the timeline sealed into its hash chain. The past sends nothing: no notification is written.
On PostgreSQL, `--jobs` processes write batches side by side: one process keeps one core busy
while the database's own work waits on it.
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter

from django.db import connection, connections, transaction

from escalade import bulk
from escalade.core.escalation import CrossingKind, crossings, evaluate
from escalade.core.sla import IncidentFacts, Pause
from escalade.escalations.models import Escalation, EscalationRequest, RequestOutcome
from escalade.incidents.audit import append_to_timeline
from escalade.incidents.evaluation import cache_evaluation, set_triage
from escalade.incidents.models import (
    Channel,
    Contract,
    Customer,
    EventKind,
    Incident,
    IncidentPause,
    Partner,
    TimelineEvent,
)
from escalade.incidents.timeline import actor_label
from escalade.ops.processes import start_django
from escalade.policies import store
from escalade.worker import crossing_entry

PREFIX = "GEN-"  # generated incidents' request numbers: GEN-1, GEN-2, …
BATCH = 5_000
TWO_YEARS = timedelta(days=730)
RECENT = timedelta(days=3)  # open incidents were opened in the last three days
TITLES = ("Lien internet coupé", "Téléphonie dégradée", "VPN instable", "Messagerie lente", "Panne d'un commutateur",
          "Accès Wi-Fi impossible", "Sauvegarde en échec", "Serveur de fichiers arrêté", "Impression impossible")


@dataclass
class Generated:
    incidents: int = 0
    open: int = 0
    pauses: int = 0
    escalations: int = 0
    timeline: int = 0
    customers: list[str] = field(default_factory=list)


def organisations(count: int) -> list[Customer]:
    """`count` customers gen-c0001…, one partner (gen-p001…) for every ten of them managing one in ten."""
    partners = [Partner.objects.get_or_create(code=f"gen-p{i + 1:03d}", defaults={"name": f"Partenaire {i + 1}"})[0]
                for i in range(max(1, count // 10))]
    customers = []
    for i in range(count):
        customer, created = Customer.objects.get_or_create(
            code=f"gen-c{i + 1:04d}",
            defaults={"name": f"Client {i + 1}", "partner": partners[i // 10 % len(partners)] if i % 10 == 0 else None})
        if created:
            Contract.objects.create(customer=customer, gtr=i % 2 == 0, reference=f"CT-GEN-{i + 1:04d}")
        customers.append(customer)
    return list(Customer.objects.select_related("contract").filter(pk__in=[c.pk for c in customers]))


def generate(count: int, open_count: int, customers: int, now: datetime, *, seed: int = 2026,
             progress: Callable[[int], object] | None = None, jobs: int = 1) -> Generated:
    """Add `count` incidents, the newest `open_count` of them still open at `now`. With `jobs` > 1
    on PostgreSQL, that many processes write batches side by side (each batch its own transaction
    and its own seeded random stream, so the data set is the same whatever `jobs`)."""
    if open_count > count:
        raise ValueError("open_count > count")
    version = store.latest()  # the organisations made here are under the default policy
    clients = organisations(customers)
    first = Incident.objects.filter(request_number__startswith=PREFIX).count() + 1
    result = Generated(customers=[c.code for c in clients])
    batches = [(version.id, [c.pk for c in clients], f"{seed}/{start}", first + start, min(BATCH, count - start),
                count - start - open_count, now) for start in range(0, count, BATCH)]
    if jobs > 1 and len(batches) > 1 and connection.vendor == "postgresql":
        # A fresh interpreter per process (no inherited connection or thread); the same settings
        # through the environment, hence the same database.
        connections.close_all()
        with ProcessPoolExecutor(min(jobs, len(batches)), mp_context=multiprocessing.get_context("spawn"),
                                 initializer=start_django, initargs=(dict(connection.settings_dict),)) as pool:
            for made in pool.map(_write_batch, batches):
                _add(result, made, progress)
    else:
        for batch in batches:
            _add(result, _write_batch(batch, clients), progress)
    if connection.vendor == "postgresql":  # the planner's statistics, before anyone reads the new rows
        with connection.cursor() as cursor:
            for model in (Incident, TimelineEvent, IncidentPause, Escalation, EscalationRequest):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return result


def _add(result: Generated, made: Generated, progress: Callable[[int], object] | None) -> None:
    result.incidents += made.incidents
    result.open += made.open
    result.pauses += made.pauses
    result.escalations += made.escalations
    result.timeline += made.timeline
    if progress:
        progress(made.incidents)


def _write_batch(batch: tuple[int, list[int], str, int, int, int, datetime],
                 clients: list[Customer] | None = None) -> Generated:
    """One batch in its own transaction (in this process with its `clients` already read, or in a
    pool's, which reads them), its random stream seeded by the run's seed and the batch's place."""
    version_id, client_ids, seed, first, size, resolved_left, now = batch
    if clients is None:
        by_id = Customer.objects.select_related("contract").in_bulk(client_ids)
        clients = [by_id[pk] for pk in client_ids]
    made = Generated()
    with transaction.atomic():
        _batch(store.parsed(store.version(version_id)), version_id, random.Random(seed), clients, first, size,
               resolved_left, now, made)
    return made


def _batch(policy, version_id, rnd, clients, first, size, resolved_left, now, result) -> None:  # type: ignore[no-untyped-def]
    priorities = list(policy.priorities)
    weights = list(range(1, len(priorities) + 1))  # the first (most urgent) the rarest
    tracks = list(policy.tracks)
    system = actor_label(None)
    incidents: list[Incident] = []
    pauses: list[IncidentPause] = []
    granted: list[tuple[Incident, datetime, datetime | None, str]] = []
    timeline_of: dict[str, list[TimelineEvent]] = {}  # each incident's entries, by request number
    for offset in range(size):
        customer = clients[rnd.randrange(len(clients))]
        priority = rnd.choices(priorities, weights)[0]
        rule = policy.priorities[priority]
        take_charge = rule.take_charge.target
        resolution = rule.resolution.target if rule.resolution else timedelta(hours=8)
        late = rnd.random() < 0.15
        is_resolved = offset < resolved_left
        age = RECENT + TWO_YEARS * rnd.random() if is_resolved else RECENT * rnd.random()
        opened = (now - age).replace(microsecond=0)
        ack: datetime | None = opened + take_charge * (rnd.uniform(1.2, 3) if late else rnd.uniform(0.1, 0.9))
        resolved = None
        if is_resolved:
            assert ack is not None
            ack = min(ack, now - timedelta(hours=2))
            resolved = max(ack, min(now - timedelta(hours=1),
                           ack + resolution * (rnd.uniform(1.1, 4) if late else rnd.uniform(0.1, 0.9))))
        elif ack > now or rnd.random() < 0.3:
            ack = None
        pause: Pause | None = None
        if rnd.random() < 0.05:  # waiting for the customer: closed once resolved, still open otherwise
            begin = (ack or opened) + timedelta(minutes=rnd.randint(5, 120))
            end = None if resolved is None else min(resolved, begin + timedelta(hours=rnd.randint(1, 24)))
            if begin < (resolved or now):
                pause = Pause(begin, end)
        number = f"{PREFIX}{first + offset}"
        track = tracks[0] if rnd.random() < 0.9 else rnd.choice(tracks)
        incident = bulk.new(Incident, request_number=number, customer=customer, title=rnd.choice(TITLES),
                            priority=priority, track=track, gtr=customer.gtr, opened_at=opened, acknowledged_at=ack,
                            resolved_at=resolved, created_at=opened, updated_at=now, policy_version_id=version_id)
        facts = IncidentFacts(request_number=number, priority=priority, opened_at=opened, gtr=incident.gtr,
                              track=track, acknowledged_at=ack, resolved_at=resolved,
                              pauses=(pause,) if pause else (), reopenings=())
        evaluation = evaluate(policy, facts, now)
        implied = crossings(policy, evaluation)
        cache_evaluation(incident, evaluation, now, paused=pause is not None and pause.end is None, implied=implied)
        incidents.append(incident)
        own = timeline_of[number] = []

        def event(kind: str, at: datetime, **data: object) -> None:
            own.append(bulk.new(TimelineEvent, incident=incident, kind=kind, occurred_at=at,  # noqa: B023
                                recorded_at=at, actor_label=system, channel=Channel.IMPORT, data=data))

        event(EventKind.CREATED, opened, priority=priority)
        if ack:
            event(EventKind.ACKNOWLEDGED, ack)
        if pause:
            pauses.append(bulk.new(IncidentPause, incident=incident, start=pause.start, end=pause.end))
            event(EventKind.PAUSED, pause.start)
            if pause.end:
                event(EventKind.RESUMED, pause.end)
        if resolved:
            event(EventKind.RESOLVED, resolved)
        # Each crossing was recorded (and alerted) by the worker at the time it happened.
        for crossing in implied:
            if crossing.at <= now:
                own.append(crossing_entry(incident, crossing, crossing.at, True))
        first_level = next((c for c in implied if c.kind is CrossingKind.LEVEL and c.at <= now), None)
        if first_level is not None and rnd.random() < 0.5:  # the customer escalates
            at = first_level.at + timedelta(minutes=rnd.randint(1, 30))
            if at < (resolved or now):
                acked = at + timedelta(minutes=rnd.randint(5, 60)) if resolved or rnd.random() < 0.5 else None
                granted.append((incident, at, acked, f"{customer.name} — service toujours coupé."))
                incident.escalated_level = first_level.level
                incident.awaiting_ack = acked is None
                set_triage(incident)
    bulk.insert(Incident, incidents)
    bulk.insert(IncidentPause, pauses)
    escalations = [bulk.new(Escalation, incident=i, level=i.escalated_level, requester_label=f"Client {i.customer.code}",
                            requester_role="customer", channel=Channel.WEB, reason=reason, granted_at=at,
                            acknowledged_at=acked, acknowledged_label="Support" if acked else "")
                   for i, at, acked, reason in granted]
    bulk.insert(Escalation, escalations)
    bulk.insert(EscalationRequest, [
        bulk.new(EscalationRequest, incident=e.incident, escalation=e, requested_level=e.level,
                 outcome=RequestOutcome.GRANTED, code="eligible", requester_label=e.requester_label,
                 requester_role="customer", channel=Channel.WEB, reason=e.reason, requested_at=e.granted_at)
        for e in escalations])
    for e in escalations:
        own = timeline_of[e.incident.request_number]
        own.append(bulk.new(TimelineEvent, incident=e.incident, kind=EventKind.ESCALATION_GRANTED,
                            occurred_at=e.granted_at, recorded_at=e.granted_at, actor_label=e.requester_label,
                            channel=Channel.WEB, data={"level": e.level, "escalation": e.pk, "reason": e.reason}))
        if e.acknowledged_at:
            own.append(bulk.new(TimelineEvent, incident=e.incident, kind=EventKind.ESCALATION_ACKNOWLEDGED,
                                occurred_at=e.acknowledged_at, recorded_at=e.acknowledged_at,
                                actor_label="Support", channel=Channel.WEB,
                                data={"level": e.level, "escalation": e.pk}))
    # Each incident's chain in the order things happened (the sort is stable: creation first).
    events: list[TimelineEvent] = []
    for own in timeline_of.values():  # the incidents' order, which is their ids'
        own.sort(key=attrgetter("occurred_at"))
        events.extend(own)
    append_to_timeline(events, new={i.pk for i in incidents})
    result.incidents += len(incidents)
    result.open += sum(1 for i in incidents if i.resolved_at is None)
    result.pauses += len(pauses)
    result.escalations += len(escalations)
    result.timeline += len(events)
