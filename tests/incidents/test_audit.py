"""History cannot be rewritten: the database refuses it, and the hash chain shows whoever went
around the database. Incident REQ-1001 (customer A, high priority) opened at 11:00 Paris on Friday
2026-11-27: take-charge (30 mn) is breached, so level 1 is open; customer A escalates at noon and
staff takes charge at 12:05."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from escalade.escalations.models import Escalation, EscalationRequest
from escalade.escalations.services import acknowledge_escalation, request_escalation
from escalade.incidents.audit import GENESIS, append_to_timeline, entry_digest, verify
from escalade.incidents.models import Channel, Incident, IncidentPause, TimelineEvent
from escalade.incidents.services import IncidentInput, apply_event, upsert_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(world, paris_noon):
    staff = world.users["staff"]
    opened = paris_noon - timedelta(hours=1)
    incident, _ = upsert_incident(IncidentInput(request_number="REQ-1001", customer="client-a", priority="high",
                                                opened_at=opened), user=staff, channel=Channel.API, now=opened)
    request_escalation(user=world.users["customer_a"], request_number="REQ-1001", reason="Site de Lyon coupé",
                       now=paris_noon, channel=Channel.WEB)
    apply_event(incident, "acknowledge", user=staff, channel=Channel.API, now=paris_noon + timedelta(minutes=5))
    return Incident.objects.get(pk=incident.pk)


@contextmanager
def triggers_lifted():
    """What someone with raw access to the database could do: write with the triggers off."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'escalade_%'")
            saved = cursor.fetchall()
            for name, _ in saved:
                cursor.execute(f'DROP TRIGGER "{name}"')
            yield cursor
            for _, sql in saved:
                cursor.execute(sql)
        else:
            cursor.execute("SET session_replication_role = replica")
            yield cursor
            cursor.execute("SET session_replication_role = DEFAULT")


def test_each_entry_seals_the_previous_entry_of_its_incident(incident):
    entries = list(incident.timeline.order_by("id"))
    assert [e.kind for e in entries] == ["created", "escalation_granted", "acknowledged"]
    previous = GENESIS
    for entry in entries:
        assert entry.previous_hash == previous
        fields = {f: getattr(entry, f) for f in ("kind", "occurred_at", "recorded_at", "actor_label", "channel",
                                                  "crossing_key", "data")}
        assert entry.hash == entry_digest(previous, "REQ-1001", fields)
        previous = entry.hash
    [report] = verify(Incident.objects.filter(pk=incident.pk))
    assert report.entries == 3 and report.broken is None and report.head == entries[-1].hash


def _sql(statement, incident):
    return statement.format(incident=incident.pk, escalation=incident.escalations.get().pk)


REFUSED = {
    "timeline entry rewritten": "UPDATE incidents_timelineevent SET kind = 'resolved' WHERE incident_id = {incident}",
    "timeline entry deleted": "DELETE FROM incidents_timelineevent WHERE incident_id = {incident}",
    "request outcome rewritten": "UPDATE escalations_escalationrequest SET outcome = 'refused' WHERE incident_id = {incident}",
    "request reason rewritten": "UPDATE escalations_escalationrequest SET reason = 'rien' WHERE incident_id = {incident}",
    "request deleted": "DELETE FROM escalations_escalationrequest WHERE incident_id = {incident}",
    "escalation level 1 made 3": "UPDATE escalations_escalation SET level = 3 WHERE id = {escalation}",
    "escalation requester rewritten": "UPDATE escalations_escalation SET requester_label = 'x' WHERE id = {escalation}",
    "escalation deleted": "DELETE FROM escalations_escalation WHERE id = {escalation}",
    "incident deleted": "DELETE FROM incidents_incident WHERE id = {incident}",
    "incident renumbered": "UPDATE incidents_incident SET request_number = 'REQ-9' WHERE id = {incident}",
}


@pytest.mark.parametrize("statement", REFUSED.values(), ids=REFUSED.keys())
def test_the_database_refuses_to_rewrite_history(incident, statement):
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_sql(statement, incident))
    assert incident.timeline.count() == 3 and incident.escalation_requests.count() == 1


def test_an_acknowledgement_once_given_cannot_be_cleared(incident, world, paris_noon):
    escalation = incident.escalations.get()
    acknowledge_escalation(user=world.users["staff"], escalation_id=escalation.pk, now=paris_noon)
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        Escalation.objects.filter(pk=escalation.pk).update(acknowledged_at=None)


def test_an_incident_with_its_timeline_cannot_be_deleted_through_the_orm(world, paris_noon):
    lone, _ = upsert_incident(IncidentInput(request_number="REQ-1002", customer="client-a", priority="low",
                                            opened_at=paris_noon), user=None, channel=Channel.API, now=paris_noon)
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        Incident.objects.filter(pk=lone.pk).delete()  # the cascade deletes its timeline first: refused
    assert Incident.objects.filter(pk=lone.pk).exists() and lone.timeline.count() == 1


def test_a_pause_keeps_its_start_and_is_never_deleted(incident, world, paris_noon):
    apply_event(incident, "pause", user=world.users["staff"], channel=Channel.API, now=paris_noon)
    pause = IncidentPause.objects.get(incident=incident)
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        IncidentPause.objects.filter(pk=pause.pk).delete()
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        IncidentPause.objects.filter(pk=pause.pk).update(start=paris_noon - timedelta(days=1))
    apply_event(incident, "resume", user=world.users["staff"], channel=Channel.API,
                now=paris_noon + timedelta(minutes=5))  # an open pause's end is set once
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        IncidentPause.objects.filter(pk=pause.pk).update(end=None)


def test_what_may_change_still_changes(incident, world):
    request = incident.escalation_requests.get()
    EscalationRequest.objects.filter(pk=request.pk).update(repeat_count=2)
    # An account can be deleted: its entries keep the name they were recorded with.
    world.users["customer_a"].delete()
    granted = incident.timeline.get(kind="escalation_granted")
    assert granted.actor_id is None and granted.actor_label
    assert next(iter(verify(Incident.objects.filter(pk=incident.pk)))).broken is None


def test_verify_names_the_first_rewritten_entry(incident):
    second = incident.timeline.order_by("id")[1]
    with triggers_lifted() as cursor:
        cursor.execute("UPDATE incidents_timelineevent SET actor_label = 'Quelqu''un d''autre' WHERE id = %s",
                       [second.pk])
    [report] = verify(Incident.objects.filter(pk=incident.pk))
    assert report.broken is not None
    assert (report.broken.position, report.broken.event_id) == (2, second.pk)
    assert "contenu modifié" in report.broken.reason


def test_verify_finds_a_removed_entry(incident):
    second = incident.timeline.order_by("id")[1]
    with triggers_lifted() as cursor:
        cursor.execute("DELETE FROM incidents_timelineevent WHERE id = %s", [second.pk])
    [report] = verify(Incident.objects.filter(pk=incident.pk))
    assert report.broken is not None and report.broken.position == 2
    assert "ne suit pas" in report.broken.reason


def _forged(incident, previous, at):
    forged = TimelineEvent(incident=incident, kind="resolved", occurred_at=at, actor_label="Escalade",
                           channel="system", previous_hash=previous)
    forged.hash = entry_digest(previous, "REQ-1001", {f: getattr(forged, f) for f in (
        "kind", "occurred_at", "recorded_at", "actor_label", "channel", "crossing_key", "data")})
    return forged


def test_the_chain_cannot_fork_even_with_the_triggers_off(incident, paris_noon):
    first = incident.timeline.order_by("id")[0]
    with pytest.raises(DatabaseError), transaction.atomic(), triggers_lifted():
        _forged(incident, first.hash, paris_noon).save()  # a second successor of the first entry


def test_verify_finds_an_entry_slipped_in_with_a_made_up_link(incident, paris_noon):
    with triggers_lifted():
        _forged(incident, "0" * 64, paris_noon).save()
    [report] = verify(Incident.objects.filter(pk=incident.pk))
    assert report.broken is not None and report.broken.position == 4
    assert "ne suit pas" in report.broken.reason


def test_audit_verify_command_reports_and_exits_1_on_a_broken_chain(incident, world, paris_noon, capsys):
    from ops.support import run

    assert "chaîne intacte" in run("audit", "verify", "REQ-1001")
    assert "0 chaîne(s) rompue(s)" in run("audit", "verify")
    with triggers_lifted() as cursor:
        cursor.execute("UPDATE incidents_timelineevent SET data = '{}' WHERE kind = 'escalation_granted'")
    with pytest.raises(SystemExit) as stop:
        run("audit", "verify")
    assert stop.value.code == 1


def test_audit_export_writes_the_whole_record_as_json(incident):
    import json

    from ops.support import run

    record = json.loads(run("audit", "export", "REQ-1001"))
    assert record["incident"]["request_number"] == "REQ-1001"
    assert [e["kind"] for e in record["timeline"]] == ["created", "escalation_granted", "acknowledged"]
    assert record["chain"] == {"entries": 3, "head": record["timeline"][-1]["hash"], "intact": True,
                               "broken_at": None}
    assert record["escalation_requests"][0]["reason"] == "Site de Lyon coupé"


@pytest.mark.django_db(transaction=True)  # as the test runner's own flush runs: outside a transaction
def test_flush_erases_everything_and_keeps_the_history_protected(incident, world, paris_noon):
    call_command("flush", interactive=False, verbosity=0)
    assert not Incident.objects.exists() and not TimelineEvent.objects.exists()
    from escalade.incidents.models import Customer

    customer = Customer.objects.create(code="client-z", name="Z")
    again, _ = upsert_incident(IncidentInput(request_number="REQ-7", customer="client-z", priority="low",
                                             opened_at=paris_noon), user=None, channel=Channel.API, now=paris_noon)
    assert customer.pk and again.timeline.count() == 1
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        TimelineEvent.objects.filter(incident=again).delete()


def test_an_archived_incident_leaves_the_watcher_and_cannot_be_reopened(incident, world, paris_noon):
    from escalade.errors import ServiceError

    staff = world.users["staff"]
    with pytest.raises(ServiceError) as refused:
        apply_event(incident, "archive", user=staff, channel=Channel.API, now=paris_noon)
    assert refused.value.code == "not_resolved"
    apply_event(incident, "resolve", user=staff, channel=Channel.API, now=paris_noon)
    with pytest.raises(ServiceError) as customer:
        apply_event(incident, "archive", user=world.users["customer_a"], channel=Channel.API, now=paris_noon)
    assert customer.value.status == 403
    archived = apply_event(incident, "archive", user=staff, channel=Channel.API, now=paris_noon)
    assert archived.archived_at == paris_noon and archived.next_change_at is None
    assert archived.timeline.order_by("id").last().kind == "archived"
    with pytest.raises(ServiceError) as reopen:
        apply_event(archived, "reopen", user=staff, channel=Channel.API, now=paris_noon)
    assert reopen.value.code == "archived"


def test_an_incident_wrongly_declared_new_cannot_start_a_second_chain(incident, paris_noon):
    """`append_to_timeline(new=…)` skips the head look-up for incidents inserted by the same
    transaction; naming an incident that already has a chain is refused, not forked."""
    entry = TimelineEvent(incident=incident, kind="note", occurred_at=paris_noon, actor_label="Support",
                          channel=Channel.API, data={"note": "rappel"})
    with pytest.raises(DatabaseError), transaction.atomic():
        append_to_timeline([entry], new={incident.pk})
    assert incident.timeline.count() == 3
    append_to_timeline([entry])  # looked up: it follows the last entry
    assert [r.broken for r in verify(Incident.objects.filter(pk=incident.pk))] == [None]


def test_the_locked_read_brings_the_chains_head_and_the_recorded_crossings(incident, world, paris_noon):
    """`lock_incident` (an escalation request's read) reads what `record` and `refresh` would look up:
    the last entry's hash and the crossings already recorded (take-charge breached at 11:30, so level 1)."""
    from escalade.incidents.services import lock_incident

    append_to_timeline([TimelineEvent(incident=incident, kind="breach", occurred_at=paris_noon,
                                      crossing_key="breach:take_charge", data={}),
                        TimelineEvent(incident=incident, kind="level_available", occurred_at=paris_noon,
                                      crossing_key="level:1", data={})])
    with transaction.atomic():
        locked = lock_incident(world.users["customer_a"], "REQ-1001")
    assert locked.timeline_head == incident.timeline.order_by("id").last().hash
    assert sorted(locked.recorded_crossings.split(",")) == ["breach:take_charge", "level:1"]


def test_an_entry_chained_on_a_head_read_before_another_writer_appended_follows_the_real_head(incident, paris_noon):
    """A head read with a lock that had to wait may be stale (PostgreSQL's statement snapshot): the
    entry is not forked nor refused with an error, it is chained again on the head there is now."""
    stale = incident.timeline.order_by("id").last().hash
    between = TimelineEvent(incident=incident, kind="mail_received", occurred_at=paris_noon, actor_label="Support",
                            channel=Channel.EMAIL, data={"subject": "appelé"})
    append_to_timeline([between])
    late = TimelineEvent(incident=incident, kind="mail_received", occurred_at=paris_noon, actor_label="Client",
                         channel=Channel.EMAIL, data={"subject": "toujours coupé"})
    with transaction.atomic():  # the transaction goes on: the skipped row aborted nothing
        append_to_timeline([late], known={incident.pk: stale})
        assert incident.timeline.count() == 5
    assert late.pk is not None and late.previous_hash == between.hash
    [report] = verify(Incident.objects.filter(pk=incident.pk))
    assert report.entries == 5 and report.broken is None and report.head == late.hash


def _reference_digest(previous, request_number, fields):
    """The digest as first defined: every stored hash was made this way."""
    payload = [previous, request_number, fields["kind"], fields["occurred_at"].astimezone(UTC).isoformat(),
               fields["recorded_at"].astimezone(UTC).isoformat(), fields["actor_label"], fields["channel"],
               fields["crossing_key"], fields["data"]]
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_digest_made_today_is_the_one_stored_when_the_chain_began():
    fields = {"kind": "escalation_granted", "occurred_at": datetime(2026, 11, 27, 12, 0, tzinfo=timezone(timedelta(hours=1))),
              "recorded_at": datetime(2026, 11, 27, 11, 0, 3, 250000, tzinfo=UTC), "actor_label": "Client « A » — Lyon\n",
              "channel": "web", "crossing_key": "", "data": {"reason": "Site de Lyon coupé \u2028 \"x\"", "level": 1, "escalation": 7}}
    assert entry_digest("", "REQ-1001", fields) == "ed406e0e2644559dac8c3e286774e063a60acaa3f94277aa238e608c49bff458"
    assert entry_digest("ab" * 32, "REQ-1001", {**fields, "data": {}}) == (
        "b9ab6bdbe779dab50beac0e3fb7f0d1fb1e3c359cc6cf01a93eac95ca9a745af")


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                     max_leaves=8)
_instants = st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("Europe/Paris"), timezone(timedelta(hours=-5))]))


@settings(max_examples=300, deadline=None)
@given(previous=st.text(), number=st.text(), kind=st.text(), occurred=_instants, recorded=_instants,
       actor=st.text(), channel=st.text(), key=st.text(), data=st.dictionaries(st.text(), _json, max_size=4))
def test_the_digest_is_the_canonical_json_one_for_any_entry(previous, number, kind, occurred, recorded, actor,
                                                             channel, key, data):
    fields = {"kind": kind, "occurred_at": occurred, "recorded_at": recorded, "actor_label": actor,
              "channel": channel, "crossing_key": key, "data": data}
    assert entry_digest(previous, number, fields) == _reference_digest(previous, number, fields)
