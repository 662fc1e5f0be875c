"""Importing incidents from CSV or JSON Lines: every row checked first, then one transaction.

Choice (documented in docs/api.md): nothing is half-imported. All rows are read and checked with the
same checks as `POST /api/v1/incidents` (the service's `check_incident_input`), plus the file's own
(known customer, request number not repeated in the file, an existing incident keeps its customer).
If any row is wrong, the report lists every bad row by line number and nothing is written. Otherwise
the rows are written in one transaction, by batches: bulk inserts and updates, with the timeline
events and the cached deadlines computed by the core exactly as `upsert_incident` does.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction

from escalade import bulk
from escalade.core.escalation import crossings, evaluate
from escalade.errors import ServiceError
from escalade.incidents.audit import append_to_timeline
from escalade.incidents.checks import CheckedInput, IncidentInput, check_incident_input
from escalade.incidents.evaluation import CACHE_FIELDS, cache_evaluation
from escalade.incidents.models import Channel, Customer, Incident, TimelineEvent
from escalade.incidents.services import assign_input

FIELDS = ("request_number", "customer", "priority", "track", "gtr", "opened_at", "acknowledged_at",
          "resolved_at", "title")
REQUIRED = ("request_number", "customer", "priority", "opened_at")
BATCH = 1000
TRUE, FALSE = {"true", "1", "oui", "yes", "vrai"}, {"false", "0", "non", "no", "faux"}

Progress = Callable[[int], None]


class ImportFileError(Exception):
    """The file as a whole cannot be read (missing columns, not CSV nor JSON Lines)."""


@dataclass(frozen=True)
class RowError:
    line: int
    request_number: str | None
    code: str
    message: str

    def __str__(self) -> str:
        number = f" ({self.request_number})" if self.request_number else ""
        return f"ligne {self.line}{number} : {self.message}"


@dataclass
class Checked:
    rows: list[tuple[int, CheckedInput, Customer]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class Imported:
    created: int
    updated: int


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """(line number, raw row) for each row; CSV with a header, or JSON Lines."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        head = stream.read(4096)
        stream.seek(0)
        if head.lstrip().startswith("{"):
            yield from _jsonl_rows(stream)
        else:
            yield from _csv_rows(stream)


def _jsonl_rows(stream: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, RowError(number, None, "invalid_json", f"JSON illisible : {exc.msg}.")
            continue
        except RecursionError:
            yield number, RowError(number, None, "invalid_json", "JSON trop imbriqué.")
            continue
        except ValueError:  # an integer of thousands of digits (Python's conversion limit)
            yield number, RowError(number, None, "invalid_json", "nombre trop long.")
            continue
        if not isinstance(raw, dict):
            yield number, RowError(number, None, "invalid_json", "chaque ligne doit être un objet JSON.")
            continue
        yield number, raw


def _csv_rows(stream: Any) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    reader = csv.DictReader(stream)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ImportFileError(f"Ligne 1 (en-tête) : CSV illisible ({exc}).") from None
    missing = [f for f in REQUIRED if f not in header]
    unknown = [h for h in header if h not in FIELDS]
    twice = sorted({h for h in header if header.count(h) > 1})
    if missing or unknown or twice:
        problems = []
        if missing:
            problems.append("colonnes obligatoires absentes : " + ", ".join(missing))
        if unknown:
            problems.append("colonnes inconnues : " + ", ".join(unknown))
        if twice:  # csv.DictReader would silently keep the last one
            problems.append("colonnes en double : " + ", ".join(twice))
        raise ImportFileError("Ligne 1 (en-tête) : " + " ; ".join(problems) + f". Colonnes connues : {', '.join(FIELDS)}.")
    reader.fieldnames = header
    while True:
        starts = reader.line_num + 1  # the line this row begins on
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            yield starts, RowError(starts, None, "invalid_csv", f"CSV illisible : {exc}.")
            continue
        if None in row:
            yield reader.line_num, RowError(reader.line_num, row.get("request_number"), "invalid_csv",
                                            "plus de valeurs que de colonnes.")
            continue
        yield reader.line_num, {k: (v.strip() if v and v.strip() else None) for k, v in row.items()}


def _gtr(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in TRUE | FALSE:
        return value.lower() in TRUE
    raise ServiceError("invalid_gtr", f"« gtr » doit valoir true ou false, pas « {value} ».")


def to_input(raw: dict[str, Any]) -> IncidentInput:
    if any(isinstance(v, str) and "\x00" in v for v in raw.values()):
        raise ServiceError("invalid_character", "la ligne contient un caractère nul (U+0000).")
    unknown = [k for k in raw if k not in FIELDS]
    if unknown:
        raise ServiceError("unknown_field", f"champ inconnu : {', '.join(unknown)}.")
    for name in ("customer", "priority", "track", "title"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise ServiceError("invalid_field", f"« {name} » doit être du texte.")
    if not raw.get("customer"):
        raise ServiceError("customer_required", "le code client « customer » est obligatoire.")
    return IncidentInput(
        request_number=raw.get("request_number"),
        customer=raw["customer"],
        priority=raw.get("priority") or "",
        opened_at=raw.get("opened_at"),
        track=raw.get("track"),
        gtr=_gtr(raw.get("gtr")),
        acknowledged_at=raw.get("acknowledged_at"),
        resolved_at=raw.get("resolved_at"),
        title=raw.get("title"),
    )


def check_rows(rows: Iterable[tuple[int, dict[str, Any] | RowError]], now: datetime,
               progress: Progress | None = None) -> Checked:
    """Every check `POST /api/v1/incidents` makes, plus the file's own; nothing is written."""
    customers = {c.code: c for c in Customer.objects.select_related("contract")}
    result = Checked()
    seen: dict[str, int] = {}
    with bulk.loading() as collect:
        for count, (line, raw) in enumerate(rows, start=1):
            if progress:
                progress(1)
            if count % BATCH == 0:
                collect()
            if isinstance(raw, RowError):
                result.errors.append(raw)
                continue
            number = raw.get("request_number") if isinstance(raw.get("request_number"), str) else None
            try:
                data = to_input(raw)
                customer = customers.get(data.customer)
                checked = check_incident_input(data, now, policy=customer.policy if customer else None)
                if customer is None:
                    raise ServiceError("customer_not_found", f"aucun client ne porte le code « {data.customer} ».")
                if checked.request_number in seen:
                    raise ServiceError("duplicate_request_number",
                                       f"numéro de requête déjà présent ligne {seen[checked.request_number]}.")
            except ServiceError as exc:
                result.errors.append(RowError(line, number, exc.code, exc.detail))
                continue
            seen[checked.request_number] = line
            result.rows.append((line, checked, customer))
        _check_existing_customers(result)
    return result


def _check_existing_customers(result: Checked) -> None:
    """An existing incident keeps its customer (as `upsert_incident` requires)."""
    wrong: set[str] = set()
    for start in range(0, len(result.rows), BATCH):
        batch = result.rows[start:start + BATCH]
        owners = dict(Incident.objects.filter(request_number__any=[c.request_number for _, c, _ in batch])
                      .values_list("request_number", "customer_id"))
        for line, checked, customer in batch:
            owner = owners.get(checked.request_number)
            if owner is not None and owner != customer.pk:
                wrong.add(checked.request_number)
                result.errors.append(RowError(line, checked.request_number, "customer_mismatch",
                                              "cet incident appartient à un autre client."))
    if wrong:
        result.rows = [row for row in result.rows if row[1].request_number not in wrong]
    result.errors.sort(key=lambda e: e.line)


def import_rows(checked: Checked, now: datetime, channel: str = Channel.IMPORT,
                progress: Progress | None = None) -> Imported:
    """Write checked rows in one transaction, by batches. Call only when `checked.errors` is empty."""
    if checked.errors:
        raise ValueError("refusing to import a file with errors")
    created = updated = 0
    with transaction.atomic(), bulk.loading() as collect:
        for start in range(0, len(checked.rows), BATCH):
            batch = checked.rows[start:start + BATCH]
            new, changed = _write_batch(batch, now, channel)
            created, updated = created + new, updated + changed
            collect()
            if progress:
                progress(len(batch))
    return Imported(created, updated)


def _write_batch(batch: list[tuple[int, CheckedInput, Customer]], now: datetime, channel: str) -> tuple[int, int]:
    existing = {
        i.request_number: i
        for i in Incident.objects.select_for_update(of=("self",))
        .filter(request_number__any=[c.request_number for _, c, _ in batch])
        .prefetch_related("pauses")
    }
    recorded: dict[int, set[str]] = {}
    for incident_id, key in TimelineEvent.objects.filter(incident__in=existing.values()).exclude(
        crossing_key=""
    ).values_list("incident_id", "crossing_key"):
        recorded.setdefault(incident_id, set()).add(key)
    to_create: list[Incident] = []
    to_update: list[Incident] = []
    events: list[TimelineEvent] = []
    for _, checked, customer in batch:
        incident, created, implied = assign_input(
            existing.get(checked.request_number), checked, customer, user=None, channel=channel, now=now
        )
        paused = not created and any(p.end is None for p in incident.pauses.all())
        policy = incident.policy
        evaluation = evaluate(policy, incident.facts(), now)
        found = crossings(policy, evaluation)
        cache_evaluation(incident, evaluation, now, paused=paused, implied=found)
        past = {c.key for c in found if c.at <= now}
        if past - recorded.get(incident.pk, set()):
            incident.next_change_at = now  # as `refresh` does: a crossing already past is due at once
        incident.updated_at = now
        (to_create if created else to_update).append(incident)
        events.extend(implied)
    bulk.insert(Incident, to_create)
    bulk.update(Incident, to_update, ["priority", "track", "gtr", "opened_at", "title", "acknowledged_at",
                             "resolved_at", "reopenings", *CACHE_FIELDS, "updated_at"])
    append_to_timeline(events, new={i.pk for i in to_create})
    return len(to_create), len(to_update)
