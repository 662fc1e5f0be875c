"""Policies as versions: two contracts under two policies side by side, commitments pinned at the
opening, people following the latest version, a deliberate re-pin recorded, nothing rewritten."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from notifications.support import SMTPSink

from escalade.core.policy import PolicyError
from escalade.incidents.models import Channel, Incident, TimelineEvent
from escalade.incidents.services import IncidentInput, repin_open_incidents, upsert_incident
from escalade.notifications.models import DeliveryStatus, Notification, NotificationKind
from escalade.policies import services, store
from escalade.policies.models import PolicyVersion
from escalade.worker import Watcher

from .conftest import gold_text

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


def _open(customer: str, number: str, priority: str, opened_at: Any, now: Any = None) -> Incident:
    data = IncidentInput(request_number=number, customer=customer, priority=priority, opened_at=opened_at)
    return upsert_incident(data, user=None, channel=Channel.API, now=now or opened_at)[0]


def _hipcom_text() -> str:
    return store.text_of(store.latest("hipcom"))


def test_two_contracts_are_evaluated_side_by_side_each_under_its_own_policy(world, gold, paris_noon):
    # Friday 12:00 Paris. HIPCOM "élevé": 30 min to take charge, 24/7. Gold P2: 30 min of its 8–20
    # business hours; P1: 15 min, 24/7.
    a = _open("client-a", "REQ-1042", "high", paris_noon)
    b = _open("client-b", "INC0010001", "p1", paris_noon)
    assert a.policy_version.name == "hipcom" and b.policy_version == gold
    assert a.take_charge_due_at == paris_noon + 30 * M
    assert b.take_charge_due_at == paris_noon + 15 * M
    assert b.policy.organisation == "OPALE Services" and b.policy.levels == (1, 2)
    # Friday 19:50 Paris, P2: 10 min left on Friday, 20 more from Monday 08:00.
    late = paris_noon + timedelta(hours=7, minutes=50)
    p2 = _open("client-b", "INC0010002", "p2", late)
    assert p2.take_charge_due_at == paris_noon + timedelta(days=2, hours=20, minutes=20)


def test_a_priority_of_another_policy_is_refused_with_the_customers_policy_names(world, gold, paris_noon):
    from escalade.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        _open("client-b", "INC0010003", "high", paris_noon)
    assert refused.value.code == "unknown_priority" and "p1" in refused.value.detail
    with pytest.raises(ServiceError):
        _open("client-a", "REQ-1043", "p1", paris_noon)


def test_a_new_version_leaves_open_incidents_deadlines_and_applies_to_later_ones(world, paris_noon):
    before = _open("client-a", "REQ-1042", "high", paris_noon)
    v1 = before.policy_version
    faster = _hipcom_text().replace('take_charge = { target = "30min", clock = "24/7" }',
                                    'take_charge = { target = "20min", clock = "24/7" }')
    v2, _policy, created = services.save_version("hipcom", faster, label="tests")
    assert created and v2.number == v1.number + 1
    later = _open("client-a", "REQ-1043", "high", paris_noon + M)
    assert later.policy_version == v2 and later.take_charge_due_at == paris_noon + 21 * M
    before.refresh_from_db()
    # A new fact on the old incident re-evaluates it under its own version: 30 min still.
    upsert_incident(IncidentInput(request_number="REQ-1042", customer="client-a", priority="high",
                                  opened_at=paris_noon, title="Lien coupé"),
                    user=None, channel=Channel.API, now=paris_noon + 2 * M)
    before.refresh_from_db()
    assert before.policy_version == v1 and before.take_charge_due_at == paris_noon + 30 * M


def test_a_priority_change_keeps_the_pinned_version(world, paris_noon):
    from escalade.incidents.services import apply_event

    incident = _open("client-a", "REQ-1042", "medium", paris_noon)
    v1 = incident.policy_version
    services.save_version("hipcom", _hipcom_text().replace('target = "2h", clock = "24/7"', 'target = "1h", clock = "24/7"'))
    changed = apply_event(incident, "change_priority", user=world.users["staff"], channel=Channel.API,
                          now=paris_noon + M, priority="high")
    assert changed.policy_version == v1 and changed.take_charge_due_at == paris_noon + 30 * M


def test_contacts_of_a_new_version_are_the_ones_alerted_for_an_old_incident(world, paris_noon, smtp: SMTPSink):
    incident = _open("client-a", "REQ-1042", "high", paris_noon)
    moved = _hipcom_text().replace('email = "escalade@hipcom.fr"', 'email = "astreinte@hipcom.fr"')
    services.save_version("hipcom", moved, label="tests")
    # 30 min later the take-charge deadline is breached: the alert goes to today's level-1 contact.
    Watcher(lambda: paris_noon + 31 * M).tick()
    breach = Notification.objects.get(incident=incident, kind=NotificationKind.BREACH)
    assert breach.recipient == "astreinte@hipcom.fr" and breach.status == DeliveryStatus.SENT
    assert smtp.to("astreinte@hipcom.fr") and not smtp.to("escalade@hipcom.fr")
    incident.refresh_from_db()
    assert incident.take_charge_due_at == paris_noon + 30 * M  # the commitment did not move


def test_the_worker_alerts_each_incident_on_its_own_policys_deadline(world, gold, paris_noon, smtp: SMTPSink):
    a = _open("client-a", "REQ-1042", "high", paris_noon)
    b = _open("client-b", "INC0010001", "p1", paris_noon)
    Watcher(lambda: paris_noon + 16 * M).tick()  # past gold's 15 min, before HIPCOM's 30
    assert Notification.objects.filter(incident=b, kind=NotificationKind.BREACH, recipient="gold@opale.example").exists()
    assert not Notification.objects.filter(incident=a, kind=NotificationKind.BREACH).exists()
    Watcher(lambda: paris_noon + 31 * M).tick()  # gold's level 1 opens at 15 + 15 min; HIPCOM's breach
    assert Notification.objects.filter(incident=a, kind=NotificationKind.BREACH, recipient="escalade@hipcom.fr").exists()
    levels = {n.recipient for n in Notification.objects.filter(incident=b, kind=NotificationKind.LEVEL_AVAILABLE)}
    assert levels == {"gold@opale.example", "claire.muller@opale.example"}  # gold's rule: level1 and level2
    gold_mail = smtp.to("gold@opale.example")[0]
    assert "procédure d'escalade OPALE Services" in gold_mail.get_body(("plain",)).get_content()
    assert "procédure d'escalade HIPCOM" in smtp.to("escalade@hipcom.fr")[0].get_body(("plain",)).get_content()


def test_policy_apply_moves_open_incidents_deadlines_and_records_both(world, paris_noon):
    incident = _open("client-a", "REQ-1042", "high", paris_noon)
    resolved = _open("client-a", "REQ-1041", "high", paris_noon - timedelta(hours=2))
    upsert_incident(IncidentInput(request_number="REQ-1041", customer="client-a", priority="high",
                                  opened_at=paris_noon - timedelta(hours=2), acknowledged_at=paris_noon - 100 * M,
                                  resolved_at=paris_noon - M), user=world.users["staff"], channel=Channel.API, now=paris_noon)
    services.save_version("hipcom", _hipcom_text().replace('take_charge = { target = "30min", clock = "24/7" }',
                                                           'take_charge = { target = "45min", clock = "24/7" }'))
    moved = repin_open_incidents("hipcom", 2, user=None, channel=Channel.CLI, now=paris_noon + 5 * M)
    assert moved == 1
    incident.refresh_from_db()
    assert incident.policy_version.number == 2 and incident.take_charge_due_at == paris_noon + 45 * M
    event = incident.timeline.get(kind="policy_applied")
    assert event.data["from"] == 1 and event.data["to"] == 2 and event.data["policy"] == "hipcom"
    assert event.data["before"]["take_charge_due_at"] == (paris_noon + 30 * M).isoformat()
    assert event.data["after"]["take_charge_due_at"] == (paris_noon + 45 * M).isoformat()
    resolved.refresh_from_db()
    assert resolved.policy_version.number == 1  # a closed incident's commitments are history
    assert repin_open_incidents("hipcom", 2, user=None, channel=Channel.CLI, now=paris_noon + 6 * M) == 0


def test_an_invalid_version_is_refused_with_the_path_named_message_and_changes_nothing(world, paris_noon):
    count = PolicyVersion.objects.count()
    broken = _hipcom_text().replace('target = "30min"', 'target = "-30min"', 1)
    with pytest.raises(PolicyError) as refused:
        services.save_version("hipcom", broken)
    assert "priorities.high.take_charge.target" in str(refused.value)
    assert PolicyVersion.objects.count() == count and store.latest("hipcom").number == 1


def test_a_version_is_never_rewritten_nor_deleted(world):
    version = PolicyVersion.objects.get(name="hipcom", number=1)
    version.text += "\n# changed"
    with pytest.raises(ValueError, match="never changed"):
        version.save()
    with pytest.raises(ValueError, match="never deleted"):
        version.delete()


def test_export_then_load_is_byte_identical_and_makes_no_new_version(world, tmp_path, capsysbinary):
    call_command("policies", "load", str(_write(tmp_path / "gold.toml", gold_text())), "--name", "gold")
    capsysbinary.readouterr()
    call_command("policies", "export", "gold")
    exported = capsysbinary.readouterr().out
    assert exported == gold_text().encode("utf-8")
    call_command("policies", "load", str(_write(tmp_path / "again.toml", exported.decode())), "--name", "gold")
    assert "identique à la version 1" in capsysbinary.readouterr().out.decode()
    assert PolicyVersion.objects.filter(name="gold").count() == 1


def _write(path: Any, text: str) -> Any:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_a_version_saved_by_another_process_is_seen_within_the_freshness_window(world, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(store.time, "monotonic", lambda: clock[0])
    store.clear()
    assert store.latest("hipcom").number == 1
    # Another process saves version 2 (no message reaches this one's memory).
    PolicyVersion.objects.create(name="hipcom", number=2, text=_hipcom_text().replace('name = "HIPCOM"', 'name = "HIPCOM SA"'))
    clock[0] += store.FRESH_SECONDS / 2
    assert store.latest("hipcom").number == 1  # no query per call: what was read stays for a moment
    clock[0] += store.FRESH_SECONDS
    assert store.latest("hipcom").number == 2 and store.default_policy().organisation == "HIPCOM SA"


def test_the_portal_and_the_procedure_page_speak_the_customers_policy(world, gold, paris_noon, monkeypatch):
    _open("client-b", "INC0010001", "p1", paris_noon - timedelta(hours=2), now=paris_noon)
    client = Client()
    client.force_login(world.users["customer_b"])
    page = client.get("/portail/incidents/INC0010001/").content.decode()
    assert "P1 critique" in page and "Claire Muller" in page
    procedure = client.get("/procedure/").content.decode()
    assert "OPALE Services" in procedure and "P4 demande" in procedure and "MASUIT" not in procedure
    assert "MASUIT" in Client().get("/procedure/").content.decode()  # the public page: the default policy


def test_customers_set_policy_refuses_an_unknown_policy_and_keeps_open_incidents(world, gold, paris_noon):
    from django.core.management.base import CommandError

    incident = _open("client-a", "REQ-1042", "high", paris_noon)
    with pytest.raises(CommandError, match="Aucune politique ne s'appelle « argent »"):
        call_command("customers", "set-policy", "client-a", "argent")
    call_command("customers", "set-policy", "client-a", "gold")
    incident.refresh_from_db()
    assert incident.policy_version.name == "hipcom"  # opened under HIPCOM's commitments
    assert _open("client-a", "INC0010009", "p3", paris_noon + M).policy_version == gold


def _one_of_each(paris_noon: Any, gold_priority: str) -> None:
    """REQ-1042 of customer A (HIPCOM, high) and INC0010001 of customer B (gold), opened 2 h ago."""
    _open("client-a", "REQ-1042", "high", paris_noon - timedelta(hours=2), now=paris_noon)
    _open("client-b", "INC0010001", gold_priority, paris_noon - timedelta(hours=2), now=paris_noon)


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_report_groups_each_customer_under_its_own_policys_labels(world, gold, paris_noon):
    _one_of_each(paris_noon, "p2")
    page = _logged_in(world.users["staff"]).get("/rapports/").content.decode()
    assert "P2 majeur" in page and "élevé" in page
    assert TimelineEvent.objects.filter(kind="created").count() == 2


def test_staff_pages_offer_each_incident_its_own_policys_priorities(world, gold, paris_noon):
    _one_of_each(paris_noon, "p1")
    client = _logged_in(world.users["staff"])
    page = client.get("/incidents/INC0010001/").content.decode()
    assert 'value="p4"' in page and 'value="medium"' not in page
    dashboard = client.get("/tableau-de-bord/").content.decode()
    assert "INC0010001" in dashboard and "REQ-1042" in dashboard and "P1 critique" in dashboard
    mine = _logged_in(world.users["customer_b"]).get("/portail/").content.decode()
    assert 'value="p2"' in mine and 'value="high"' not in mine


def test_the_commands_load_list_diff_apply_and_refuse_an_invalid_file(world, paris_noon, tmp_path, capsys):
    from django.core.management.base import CommandError

    incident = _open("client-a", "REQ-1042", "high", paris_noon)
    broken = _write(tmp_path / "broken.toml", _hipcom_text().replace('clock = "heures-ouvrees"', 'clock = "lune"', 1))
    with pytest.raises(CommandError) as refused:
        call_command("policies", "load", str(broken))
    assert "rien n'est enregistré" in str(refused.value) and "priorities.low.take_charge.clock" in str(refused.value)
    slower = _write(tmp_path / "v2.toml", _hipcom_text().replace('take_charge = { target = "30min", clock = "24/7" }',
                                                                  'take_charge = { target = "1h", clock = "24/7" }'))
    call_command("policies", "load", str(slower), "--comment", "une heure")
    call_command("policies", "list")
    call_command("policies", "diff", "hipcom", "1", "2")
    call_command("policies", "apply", "hipcom", "--version", "2", "--open-incidents")
    out = capsys.readouterr().out
    assert "version 2 enregistrée" in out and "hipcom (par défaut)\tversion 2 sur 2" in out
    assert '+take_charge = { target = "1h", clock = "24/7" }' in out
    assert "1 incident(s) ouvert(s) passé(s) à la version 2" in out
    incident.refresh_from_db()
    assert incident.take_charge_due_at == paris_noon + 60 * M
    assert incident.timeline.get(kind="policy_applied").channel == Channel.CLI
