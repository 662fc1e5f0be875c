"""The timeline's hash chain: each entry's hash covers its content and the previous entry's hash of
the same incident, so an entry rewritten, removed or slipped in is found by `escalade audit verify`.

The database refuses UPDATE and DELETE on the timeline (ops migration 0001); the chain is what shows
that nobody went around it (a raw write with the triggers dropped). Entries are chained in insertion
order (`id`). The digest's inputs and encoding never change: every stored hash depends on them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, StringAgg, Subquery, Value

from escalade import bulk, compiled
from escalade.incidents.models import Incident, TimelineEvent

GENESIS = ""  # the `previous_hash` of an incident's first entry
# json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")), without building
# an encoder per entry (`entry_digest` writes the texts itself).
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _instant(value: datetime) -> str:
    return value.isoformat() if value.tzinfo is UTC else value.astimezone(UTC).isoformat()


def entry_digest(previous: str, request_number: str, fields: dict[str, Any]) -> str:
    """sha256 over the previous hash and the entry's own content (canonical JSON)."""
    head = (previous, request_number, fields["kind"], _instant(fields["occurred_at"]),
            _instant(fields["recorded_at"]), fields["actor_label"], fields["channel"], fields["crossing_key"])
    data = fields["data"]
    try:
        # The same text as _CANONICAL.encode([*head, data]), which builds a C encoder per call
        # (5.5 µs an entry here against 8.4 µs). Most entries carry no data.
        text = f"[{','.join(map(encode_basestring, head))},{'{}' if data == {} else _CANONICAL.encode(data)}]"
    except TypeError:  # a value that is not text: the encoder says what it makes of it
        text = _CANONICAL.encode([*head, data])
    return hashlib.sha256(text.encode()).hexdigest()


CONTENT = ("kind", "occurred_at", "recorded_at", "actor_label", "channel", "crossing_key", "data")


def _fields(event: TimelineEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in CONTENT}


# Up to this many incidents the look-up's SQL is compiled once per count (`escalade.compiled`): a
# request's or an event's own incident, where writing the SQL again took 0.5 ms of each write. The
# worker's larger batches are compiled each time, as their counts vary.
COMPILED_UP_TO = 8


def heads(incident_ids: Iterable[int]) -> dict[int, str]:
    """The last hash of each incident's chain, the incidents locked so that no other writer chains
    after the same entry meanwhile (PostgreSQL; SQLite writes one transaction at a time)."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    rows = compiled.fetch(len(ids), _heads, *ids) if len(ids) <= COMPILED_UP_TO else _heads(*ids)
    return {pk: head or GENESIS for pk, head in rows}


def _heads(*incident_ids: int) -> QuerySet[Incident]:
    last = TimelineEvent.objects.filter(incident=OuterRef("pk")).order_by("-id").values("hash")[:1]
    return (
        Incident.objects.select_for_update()
        .filter(pk__in=incident_ids)
        .order_by("pk")
        .annotate(head=Subquery(last))
        .values_list("pk", "head")
    )


def with_chain(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """The incidents with their chain's head (`timeline_head`, None for an empty chain) and their
    recorded crossings' keys (`recorded_crossings`, comma-separated, None for none), read in the same
    statement: for a writer that locks its incident with this read, the head needs no second look-up.
    Read under a lock that had to wait (PostgreSQL's subqueries keep the statement's snapshot), both
    may miss what the writer it waited for appended: the entry chained on that stale head conflicts
    with the one-successor constraint and is chained again on the head read then (`append_to_timeline`),
    and a crossing taken as unrecorded only makes the watcher look again."""
    events = TimelineEvent.objects.filter(incident=OuterRef("pk"))
    keys = (events.exclude(crossing_key="").order_by().values("incident")
            .annotate(keys=StringAgg("crossing_key", Value(","))).values("keys"))
    return incidents.annotate(timeline_head=Subquery(events.order_by("-id").values("hash")[:1]),
                              recorded_crossings=Subquery(keys))


def seal(events: list[TimelineEvent], new: Collection[int] = (), known: dict[int, str] | None = None) -> None:
    """Give unsaved `events` (in their order) their place in their incidents' chains. Call inside
    the transaction that inserts them. `new`: ids of incidents inserted by this transaction, whose
    chains start here (no look-up; were one not new, the one-successor constraint refuses the write).
    `known`: heads already read in this transaction (`with_chain`), not looked up again."""
    if not events:
        return
    # `incident.pk`, not `incident_id`: an incident saved after its events were built (the import).
    incidents = [e.incident for e in events]
    ids = [i.pk for i in incidents]
    known = known or {}
    chain = {**known, **heads(pk for pk in ids if pk not in new and pk not in known)}
    for event, incident, pk in zip(events, incidents, ids, strict=True):
        previous = chain.get(pk, GENESIS)
        event.previous_hash = previous
        event.hash = entry_digest(previous, incident.request_number, _fields(event))
        chain[pk] = event.hash


def append_to_timeline(events: list[TimelineEvent], new: Collection[int] = (),
                       known: dict[int, str] | None = None) -> list[TimelineEvent]:
    """Seal and insert `events`: the only way entries enter the timeline (`new`, `known`: as for
    `seal`). A transaction if none is open; no savepoint inside one (a failure is the caller's to
    roll back)."""
    with transaction.atomic(savepoint=False):
        if known and len(events) == 1:
            seal(events, new, known)
            # A head read under a lock that had to wait may be stale: the one-successor constraint
            # then skips the row (no error, the transaction goes on) and it is sealed again below,
            # on the head read now, under the lock this transaction holds.
            if bulk.insert_one_unless_conflict(events[0]):
                return events
        seal(events, new)
        bulk.insert(TimelineEvent, events)
        return events


@dataclass(frozen=True)
class Break:
    """The first entry of a chain that does not verify."""

    request_number: str
    position: int  # 1-based, in insertion order
    event_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    request_number: str
    entries: int
    head: str
    broken: Break | None


def verify(incidents: QuerySet[Incident]) -> Iterator[ChainReport]:
    """Walk every chain of `incidents` (streamed, in incident order); report each one."""
    rows = (
        TimelineEvent.objects.filter(incident__in=incidents)
        .order_by("incident_id", "id")
        .values_list("incident_id", "incident__request_number", "id", "previous_hash", "hash", *CONTENT)
    )
    current: int | None = None
    number, head, count, broken = "", GENESIS, 0, None
    for incident_id, request_number, event_id, previous, stored, *content in rows.iterator(chunk_size=2000):
        if incident_id != current:
            if current is not None:
                yield ChainReport(number, count, head, broken)
            current, number, head, count, broken = incident_id, request_number, GENESIS, 0, None
        count += 1
        if broken is not None:
            continue
        if previous != head:
            broken = Break(number, count, event_id,
                           "ne suit pas l'entrée précédente (entrée supprimée, insérée ou déplacée)")
        elif entry_digest(previous, number, dict(zip(CONTENT, content, strict=True))) != stored:
            broken = Break(number, count, event_id, "contenu modifié après son enregistrement")
        head = stored
    if current is not None:
        yield ChainReport(number, count, head, broken)
    # An incident whose whole timeline is gone has no chain to walk: its creation entry is missing.
    empty = incidents.exclude(Exists(TimelineEvent.objects.filter(incident=OuterRef("pk"))))
    for number in empty.values_list("request_number", flat=True).iterator():
        yield ChainReport(number, 0, GENESIS, Break(number, 1, 0, "aucune entrée : la chronologie a disparu"))
