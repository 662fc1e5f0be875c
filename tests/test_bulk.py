"""`escalade.bulk.insert`: COPY on PostgreSQL, executemany on SQLite, and the objects come back as
`bulk_create` leaves them. 150 timeline entries of incident REQ-1001 (customer A), opened at noon
Paris, so that the large path (≥ SMALL rows) is the one taken."""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import models, transaction

from escalade import bulk
from escalade.escalations.models import Escalation, EscalationRequest
from escalade.incidents.models import Channel, Customer, Incident, IncidentPause, TimelineEvent
from escalade.notifications.models import RANK, Notification

pytestmark = pytest.mark.django_db


def new_incident(world, number: str, opened) -> Incident:
    return Incident(request_number=number, customer=world.customer_a, priority="high", track="support",
                    opened_at=opened, created_at=opened)


@pytest.mark.parametrize("count", [1, 3, bulk.SMALL + 50])  # a few rows by one INSERT, many by COPY
def test_rows_get_their_ids_in_order_and_read_back_with_the_same_values(world, paris_noon, count):
    incident = new_incident(world, "REQ-1001", paris_noon)
    incident.save()
    events = [TimelineEvent(incident=incident, kind="note", occurred_at=paris_noon + timedelta(minutes=i),
                            recorded_at=paris_noon, actor_label="Support", channel=Channel.API,
                            data={"note": f"appel n°{i}", "minutes": i}, previous_hash=f"{i:064x}",
                            hash=f"{i + 1:064x}")
              for i in range(count)]
    bulk.insert(TimelineEvent, events)

    assert all(e.pk for e in events) and len({e.pk for e in events}) == len(events)
    assert [e.pk for e in events] == sorted(e.pk for e in events)  # the ids in the rows' order
    stored = {e.pk: e for e in TimelineEvent.objects.filter(incident=incident)}
    assert len(stored) == len(events)
    for event in events:
        row = stored[event.pk]
        assert (row.occurred_at, row.data, row.hash) == (event.occurred_at, event.data, event.hash)
    assert not events[0]._state.adding


@pytest.mark.parametrize("count", [2, bulk.SMALL])
def test_a_relation_to_an_object_saved_after_the_row_was_built_is_written(world, paris_noon, count):
    incidents = [new_incident(world, f"REQ-{1001 + i}", paris_noon) for i in range(count)]
    events = [TimelineEvent(incident=i, kind="opened", occurred_at=paris_noon, recorded_at=paris_noon)
              for i in incidents]  # as the import builds them: before the incidents have ids
    bulk.insert(Incident, incidents)
    bulk.insert(TimelineEvent, events)

    opened = dict(TimelineEvent.objects.values_list("incident__request_number", "incident_id"))
    assert opened == {i.request_number: i.pk for i in incidents}
    assert Incident.objects.get(request_number=incidents[-1].request_number).updated_at is not None  # auto_now filled


def test_create_writes_what_the_manager_s_create_writes(world, paris_noon):
    incident = new_incident(world, "REQ-1001", paris_noon)
    incident.save()
    values = {"incident": incident, "level": 2, "requested_by": world.users["staff"], "requester_label": "Sam",
              "requester_role": "staff", "channel": Channel.API, "reason": "Coupure « totale »", "granted_at": paris_noon,
              "next_reminder_at": paris_noon + timedelta(minutes=15)}
    ours = bulk.create(Escalation, **values)
    reference = Escalation.objects.create(**{**values, "level": 3})
    assert ours.pk and not ours._state.adding
    stored = {e.level: fields_of(e) for e in Escalation.objects.all()}
    assert {k: v for k, v in stored[2].items() if k not in ("id", "level")} == {
        k: v for k, v in stored[3].items() if k not in ("id", "level")}
    assert stored[2]["id"] == ours.pk and stored[3]["id"] == reference.pk


def test_ids_given_after_a_bulk_insert_do_not_collide(world, paris_noon):
    bulk.insert(Incident, [new_incident(world, f"REQ-{1001 + i}", paris_noon) for i in range(bulk.SMALL)])
    later = new_incident(world, "REQ-2001", paris_noon)
    later.save()  # the database's own numbering continues after the reserved ids
    assert later.pk == Incident.objects.order_by("-pk").values_list("pk", flat=True)[0]
    assert Incident.objects.count() == bulk.SMALL + 1


def fields_of(obj) -> dict:
    return {k: v for k, v in obj.__dict__.items() if k != "_state"}


@pytest.mark.parametrize("model, values", [
    (Incident, {"request_number": "REQ-1001", "priority": "high", "track": "support"}),
    (TimelineEvent, {"kind": "created", "actor_label": "Escalade", "channel": Channel.IMPORT,
                     "data": {"priority": "high"}, "crossing_key": "breach:take_charge"}),
    (IncidentPause, {}),
    (Escalation, {"level": 2, "requester_label": "Client A", "reason": "Service toujours coupé."}),
    (EscalationRequest, {"requested_level": 2, "code": "eligible"}),
    (Notification, {"kind": "breach", "recipient": "astreinte@hipcom.fr"}),
])
def test_new_builds_the_object_the_model_builds(world, paris_noon, model, values):
    incident = new_incident(world, "REQ-1001", paris_noon)  # unsaved: its id comes later, as in an import
    relations = {f.name: (incident if f.related_model is Incident else None)
                 for f in model._meta.concrete_fields if f.is_relation and f.related_model in (Incident, Customer)}
    if model is Incident:
        relations = {"customer": world.customer_a}
    times = {f.name: paris_noon for f in model._meta.concrete_fields
             if isinstance(f, models.DateTimeField) and not (f.auto_now or f.auto_now_add)}
    given = {**times, **relations, **values}

    built, expected = bulk.new(model, **given), model(**given)

    assert fields_of(built) == fields_of(expected)
    assert built._state.fields_cache == expected._state.fields_cache
    assert (built._state.adding, built._state.db) == (True, None)
    for field in model._meta.concrete_fields:  # a mutable default is the object's own
        if field.generated or field.name in given:
            continue
        if isinstance(getattr(built, field.attname), dict | list):
            assert getattr(built, field.attname) is not getattr(bulk.new(model, **given), field.attname)


def test_new_takes_a_relation_by_its_id_and_defaults_what_is_not_given(world, paris_noon):
    built = bulk.new(TimelineEvent, incident_id=7, kind="note", occurred_at=paris_noon)
    assert (built.incident_id, built.actor_id, built.data, built.crossing_key, built.channel) == (
        7, None, {}, "", Channel.SYSTEM)
    assert built.recorded_at is not None  # the model's own callable default


def test_new_refuses_an_unknown_field_as_the_model_does(world):
    with pytest.raises(TypeError, match="colour"):
        bulk.new(TimelineEvent, kind="note", colour="blue")


def test_instants_in_any_zone_read_back_as_the_same_instants_and_naive_ones_are_refused(world, paris_noon):
    paris = ZoneInfo("Europe/Paris")
    incident = new_incident(world, "REQ-1001", paris_noon)
    incident.save()
    # 29 March 2026: the clocks go forward in Paris; microseconds kept.
    first = datetime(2026, 3, 29, 0, 30, 59, 999_999, tzinfo=UTC)
    instants = [(first + timedelta(minutes=i)).astimezone(paris) for i in range(bulk.SMALL)]
    events = [TimelineEvent(incident=incident, kind="note", occurred_at=at, recorded_at=paris_noon,
                            previous_hash=f"{i:064x}") for i, at in enumerate(instants)]
    bulk.insert(TimelineEvent, events)
    stored = sorted(TimelineEvent.objects.filter(incident=incident).values_list("occurred_at", flat=True))
    assert stored == sorted(instants)

    naive = [TimelineEvent(incident=incident, kind="note", occurred_at=datetime(2026, 3, 29, 2, 30),  # noqa: DTZ001
                           recorded_at=paris_noon, previous_hash=f"{i + 1000:064x}") for i in range(bulk.SMALL)]
    with pytest.raises(ValueError, match="naive"):
        bulk.insert(TimelineEvent, naive)


def _alert(incident: Incident, key: str, at: datetime) -> Notification:
    return Notification(kind="breach", channel="email", recipient="astreinte@hipcom.fr", incident=incident,
                        context={"crossing": "take_charge:breach", "niveau": 1, "délai": "30 mn"},
                        idempotency_key=key, created_at=at, next_attempt_at=at)


def test_insert_new_writes_what_no_unique_constraint_refuses_and_counts_it(world, paris_noon):
    incident = new_incident(world, "REQ-1001", paris_noon)
    incident.save()
    _alert(incident, "crossing:1:breach", paris_noon).save()  # already in the outbox
    rows = [_alert(incident, f"crossing:{n}:breach", paris_noon + timedelta(seconds=n)) for n in range(1, 8)]
    rows.append(_alert(incident, "crossing:2:breach", paris_noon))  # twice in the same batch

    assert bulk.insert_new(Notification, rows) == 6  # 2 to 7

    stored = {n.idempotency_key: n for n in Notification.objects.filter(incident=incident)}
    assert sorted(stored) == [f"crossing:{n}:breach" for n in range(1, 8)]
    row = stored["crossing:5:breach"]
    assert (row.context, row.created_at, row.incident_id, row.status, row.rank) == (
        rows[4].context, paris_noon + timedelta(seconds=5), incident.pk, "pending", RANK["breach"])
    assert bulk.insert_new(Notification, rows) == 0  # a second pass adds nothing


class _Cycle:
    """An object in a reference cycle: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.mark.parametrize("rows", [1, 3])
def test_update_writes_the_named_fields_of_one_row_or_many(world, paris_noon, rows):
    incidents = [new_incident(world, f"REQ-{1001 + i}", paris_noon) for i in range(rows + 1)]
    bulk.insert(Incident, incidents)
    for i, incident in enumerate(incidents[:rows]):
        incident.title, incident.priority = f"Lien coupé n°{i}", "low"  # priority is not named: kept
    bulk.update(Incident, incidents[:rows], ["title"])

    stored = dict(Incident.objects.values_list("request_number", "title"))
    assert stored == {**{f"REQ-{1001 + i}": f"Lien coupé n°{i}" for i in range(rows)}, f"REQ-{1001 + rows}": ""}
    assert set(Incident.objects.values_list("priority", flat=True)) == {"high"}


def test_loading_pauses_the_collector_and_restores_it_frozen_objects_included():
    before = _Cycle()
    assert gc.isenabled()
    with bulk.loading():
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0  # what existed at the start is left out of the traversals
        assert not any(obj is before for obj in gc.get_objects())  # frozen: in no generation
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_loading_collects_the_cycles_made_inside_when_its_caller_asks():
    freed = []
    with bulk.loading() as collect:
        cycle = _Cycle()
        weakref.finalize(cycle, freed.append, "freed")
        del cycle
        assert freed == []  # paused: the cycle waits for the caller
        collect()
        assert freed == ["freed"]


def test_loading_leaves_a_disabled_collector_disabled_even_after_an_error():
    gc.disable()
    try:
        with pytest.raises(RuntimeError), bulk.loading():
            raise RuntimeError("boom")
        assert not gc.isenabled()
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable()


class Clock:
    """`count_rows`' clock, moved by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _count_of_customer(world, clock: Clock) -> tuple[int, bool]:
    sql, params = Incident.objects.filter(customer=world.customer_a).values("pk").query.sql_with_params()
    return bulk.count_rows(sql, params, clock=clock)


def test_an_estimate_is_reused_for_its_window_without_a_query_then_made_again(
        world, paris_noon, monkeypatch, django_assert_num_queries):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the embedded database has no estimator: every count is exact")
    bulk.insert(Incident, [new_incident(world, f"REQ-10{n}", paris_noon) for n in range(5)])
    monkeypatch.setattr(bulk, "EXACT_UP_TO", 3)
    clock = Clock()
    with django_assert_num_queries(2):  # the bounded count, then the planner's estimate
        first, exact = _count_of_customer(world, clock)
    assert not exact and first >= 4
    clock.now += bulk.ESTIMATE_KEPT_FOR - 0.5
    with django_assert_num_queries(0):
        assert _count_of_customer(world, clock) == (first, False)
    clock.now += 1
    with django_assert_num_queries(2):
        assert _count_of_customer(world, clock)[1] is False


def test_an_exact_count_is_counted_again_each_time(world, paris_noon, django_assert_num_queries):
    clock = Clock()
    assert _count_of_customer(world, clock) == (0, True)
    bulk.insert(Incident, [new_incident(world, "REQ-1001", paris_noon)])
    with django_assert_num_queries(1):
        assert _count_of_customer(world, clock) == (1, True)


def test_an_estimate_is_kept_for_its_own_values_and_bound_only(world, paris_noon, monkeypatch):
    """Another customer's count (another scope), or a count under another bound, is not answered
    from this one's estimate."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the embedded database has no estimator: every count is exact")
    bulk.insert(Incident, [new_incident(world, f"REQ-10{n}", paris_noon) for n in range(5)])
    monkeypatch.setattr(bulk, "EXACT_UP_TO", 3)
    clock = Clock()
    assert _count_of_customer(world, clock)[1] is False
    other = Incident.objects.filter(customer=world.customer_b).values("pk").query.sql_with_params()
    assert bulk.count_rows(*other, clock=clock) == (0, True)
    monkeypatch.setattr(bulk, "EXACT_UP_TO", 10)
    assert _count_of_customer(world, clock) == (5, True)


def test_a_few_rows_with_ids_of_their_own_keep_them(world, paris_noon):
    incidents = [new_incident(world, f"REQ-{1001 + i}", paris_noon) for i in range(2)]
    incidents[0].pk, incidents[1].pk = 9001, 9002
    bulk.insert(Incident, incidents)
    assert sorted(Incident.objects.values_list("pk", flat=True)) == [9001, 9002]


def test_a_statement_is_written_once_for_its_shape_and_carries_other_rows_values(world, paris_noon, monkeypatch):
    """The INSERT and UPDATE texts are kept per model, shape and kind of database: a second write of
    the same shape quotes no name again (writes no SQL), and its own values reach its rows."""
    bulk._insert_sql.cache_clear()
    bulk._update_sql.cache_clear()
    quoted: list[str] = []
    real = bulk._quote
    monkeypatch.setattr(bulk, "_quote", lambda name: quoted.append(name) or real(name))
    first = [new_incident(world, f"REQ-{n}", paris_noon) for n in (1001, 1002)]
    second = [new_incident(world, f"REQ-{n}", paris_noon) for n in (1003, 1004)]
    bulk.insert(Incident, first)
    written = len(quoted)
    bulk.insert(Incident, second)
    assert written and len(quoted) == written
    second[0].title = "Lien coupé"
    bulk.update(Incident, [second[0]], ["title"])
    updated = len(quoted)
    first[1].title = "Fibre coupée"
    bulk.update(Incident, [first[1]], ["title"])
    assert updated > written and len(quoted) == updated

    assert dict(Incident.objects.values_list("request_number", "title")) == {
        "REQ-1001": "", "REQ-1002": "Fibre coupée", "REQ-1003": "Lien coupé", "REQ-1004": ""}


# Text PostgreSQL's array syntax gives a meaning to (quotes, braces, commas, backslashes, the word
# NULL), an empty string and non-Latin text: each must come back as it was written.
AWKWARD = ['Coupure "fibre" {site, B}', "NULL", "", "C:\\astreinte\\", "ligne\ncoupée", "電話回線"]


@pytest.mark.parametrize("path", ["insert", "insert_new", "insert_new_returning"])
def test_a_few_rows_read_back_as_written_whatever_their_text(world, paris_noon, path):
    incident = new_incident(world, "REQ-1001", paris_noon)
    incident.save()
    paris = ZoneInfo("Europe/Paris")
    rows = [Notification(kind="breach", channel="email", recipient=f"n{i}@hipcom.fr", recipient_name=text,
                         incident=incident, context={"note": text, "niveau": i, "vide": None} if i % 2 else {},
                         idempotency_key=f"k:{i}", last_error=text,
                         created_at=(paris_noon + timedelta(minutes=i)).astimezone(paris),
                         next_attempt_at=paris_noon, sent_at=None)
            for i, text in enumerate(AWKWARD)]

    if path == "insert":
        bulk.insert(Notification, rows)
        assert [r.pk for r in rows] == sorted(r.pk for r in rows)  # the ids in the rows' order
    elif path == "insert_new":
        assert bulk.insert_new(Notification, rows) == len(rows)
    else:
        assert len(bulk.insert_new_returning(Notification, rows)) == len(rows)

    stored = {n.idempotency_key: n for n in Notification.objects.filter(incident=incident)}
    for i, row in enumerate(rows):
        back = stored[f"k:{i}"]
        assert (back.recipient_name, back.last_error, back.context, back.created_at, back.sent_at) == (
            row.recipient_name, row.last_error, row.context, row.created_at, None)


@pytest.mark.parametrize("count", [3, 6])  # a VALUES list; beyond a kept one (arrays on PostgreSQL)
def test_a_few_naive_instants_are_refused_and_nothing_is_written(world, paris_noon, count):
    incident = new_incident(world, "REQ-1001", paris_noon)
    incident.save()
    naive = [_alert(incident, f"k:{i}", paris_noon) for i in range(count)]
    naive[1].next_attempt_at = datetime(2026, 3, 29, 2, 30)  # noqa: DTZ001
    for write in (bulk.insert, bulk.insert_new, bulk.insert_new_returning):
        with pytest.raises(ValueError, match="naive"), transaction.atomic():  # the caller's to roll back
            write(Notification, naive)
    assert not Notification.objects.filter(incident=incident).exists()


def test_rows_beyond_a_kept_values_list_are_one_statement_of_the_same_text_on_postgresql(world, paris_noon):
    """On PostgreSQL, rows too many for a VALUES list psycopg keeps (over 50 parameters: a grant's 4
    outbox rows and more, 15 columns each) go as one array per column: psycopg converts the text
    once and PostgreSQL prepares it once, whatever their number. Fewer go as VALUES, kept as is."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes a VALUES list (its text grows with the rows)")
    incident = new_incident(world, "REQ-1001", paris_noon)
    incident.save()
    texts: list[str] = []

    def sent(execute, sql, params, many, context):
        texts.append(sql)  # the text given to psycopg, before any value is bound
        return execute(sql, params, many, context)

    for count, first in ((4, 0), (12, 4), (30, 16), (3, 46)):
        rows = [_alert(incident, f"k:{n}", paris_noon) for n in range(first, first + count)]
        with connection.execute_wrapper(sent):
            assert len(bulk.insert_new_returning(Notification, rows)) == count
    assert len(texts) == 4
    assert texts[0] == texts[1] == texts[2] and "UNNEST" in texts[0]
    assert "VALUES" in texts[3] and texts[3].count("%s") == 3 * 15 <= bulk.PARAMETERS_KEPT
    assert Notification.objects.filter(incident=incident).count() == 49


def test_the_parameters_kept_are_psycopg_s():
    import psycopg._queries

    assert psycopg._queries.MAX_CACHED_STATEMENT_PARAMS == bulk.PARAMETERS_KEPT
