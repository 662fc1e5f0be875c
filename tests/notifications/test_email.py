"""Escalation and alert emails, through a real SMTP server, read back and checked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from escalade.escalations.services import request_escalation
from escalade.incidents.models import EventKind
from escalade.notifications.channels import message_id
from escalade.notifications.models import DeliveryStatus, Notification, NotificationKind
from escalade.worker import Watcher

from .support import FakeClock, SMTPSink, now_utc, open_incident


def _escalated(world: Any, opened_ago: timedelta, number: str = "REQ-1042") -> tuple[Any, Any, Any]:
    now = now_utc()
    incident = open_incident(world.customer_a, number, now - opened_ago, now=now)
    outcome = request_escalation(user=world.users["customer_a"], request_number=number,
                                 reason="Coupure totale du site", now=now)
    return incident, outcome.escalation, now


@pytest.mark.django_db
def test_an_escalation_emails_the_level_contacts_with_phones_and_an_acknowledgement_link(
    world: Any, smtp: SMTPSink
) -> None:
    _incident, escalation, now = _escalated(world, timedelta(minutes=95))  # overdue 65 min: level 2
    assert escalation.level == 2
    Watcher(FakeClock(now)).tick()

    [mail] = [m for m in smtp.to("vincent@hipcom.fr") if "à prendre en compte" in m["Subject"]]
    assert mail["Subject"] == "[Escalade] REQ-1042 — escalade niveau 2 à prendre en compte"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for expected in ("REQ-1042", "Client A", "élevé", "Vincent BLUSSEAU", "04 56 40 60 74",
                     "06 95 43 68 26", "prise en charge (30 mn)", "dépassé de 1 h 05", "Coupure totale"):
        assert expected in text, expected
    assert 'href="tel:+33456406074"' in html and 'href="tel:+33695436826"' in html
    assert "/ack/" in text and "/ack/" in html
    row = Notification.objects.get(recipient="vincent@hipcom.fr", kind=NotificationKind.ESCALATION)
    assert mail["Message-ID"] == message_id(row.idempotency_key)
    assert row.status == DeliveryStatus.SENT and row.attempts == 1


@pytest.mark.django_db
def test_lower_levels_are_informed_and_the_requester_gets_a_confirmation(world: Any, smtp: SMTPSink) -> None:
    _incident, escalation, now = _escalated(world, timedelta(minutes=95))
    Watcher(FakeClock(now)).tick()

    [info] = [m for m in smtp.to("escalade@hipcom.fr") if "pour information" in m["Subject"]]
    assert info["Subject"] == "[Escalade] REQ-1042 — escalade niveau 2, pour information"
    assert "/ack/" not in info.get_body(("plain",)).get_content()  # informed, not asked to act
    [confirmation] = smtp.to("a@client-a.fr")
    assert confirmation["Subject"] == (
        f"[Escalade] REQ-1042 — votre demande d'escalade niveau 2 est enregistrée ({escalation.number})"
    )
    body = confirmation.get_body(("plain",)).get_content()
    assert "Vincent BLUSSEAU" in body and "04 56 40 60 74" in body
    assert smtp.to("guillaume@hipcom.fr") == []  # level 3 is not concerned


@pytest.mark.django_db
def test_a_breach_alerts_the_level_1_contact_of_the_incidents_track(world: Any, smtp: SMTPSink) -> None:
    now = now_utc()
    open_incident(world.customer_a, "REQ-7", now - timedelta(minutes=31), now=now, track="production")
    Watcher(FakeClock(now)).tick()

    [mail] = smtp.to("adrien@hipcom.fr")
    assert mail["Subject"] == "[Escalade] REQ-7 — délai de prise en charge dépassé"
    text = mail.get_body(("plain",)).get_content()
    assert "Adrien Bourdon" in text and "04 26 78 04 78" in text and "dépassé de 1 mn" in text
    # the state once, then the overdue (issue 11: not "dépassé, dépassé de 1 mn")
    assert "prise en charge (30 mn) : échéance" in text and "dépassé — 1 mn de retard" in text
    assert "dépassé, dépassé" not in text
    assert "\n\n\n" not in text  # one blank line between the parts, never two
    assert smtp.to("escalade@hipcom.fr") == []  # the support line is not this incident's track


@pytest.mark.django_db
def test_the_one_click_link_shows_a_confirmation_then_acknowledges_for_the_recipient(
    world: Any, smtp: SMTPSink
) -> None:
    incident, escalation, now = _escalated(world, timedelta(minutes=95))
    Watcher(FakeClock(now)).tick()
    [mail] = [m for m in smtp.to("vincent@hipcom.fr") if "à prendre en compte" in m["Subject"]]
    link = next(w for w in mail.get_body(("plain",)).get_content().split() if "/ack/" in w)
    path = link.split("://", 1)[1].split("/", 1)[1]
    client = Client()

    page = client.get(f"/{path}")
    assert page.status_code == 200 and "Je prends en compte" in page.content.decode()
    escalation.refresh_from_db()
    assert escalation.acknowledged_at is None  # a GET (a mail scanner) changes nothing

    done = client.post(f"/{path}")
    assert done.status_code == 200 and "a été prise en compte" in done.content.decode()
    escalation.refresh_from_db()
    assert escalation.acknowledged_at is not None and escalation.next_reminder_at is None
    event = incident.timeline.get(kind=EventKind.ESCALATION_ACKNOWLEDGED)
    assert "vincent@hipcom.fr" in event.actor_label and event.channel == "email"

    assert client.get(f"/{path[:-3]}xx/").status_code == 404  # altered link


@pytest.mark.django_db
def test_a_staff_member_acknowledging_by_link_is_recorded_as_themselves(world: Any) -> None:
    from escalade.notifications.tokens import ack_token

    _incident, escalation, _now = _escalated(world, timedelta(minutes=95))
    token = ack_token(escalation.pk, "Staff", "staff@hipcom.fr")
    assert Client().post(f"/ack/{token}/").status_code == 200
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == world.users["staff"]


@pytest.mark.django_db
def test_unacknowledged_escalations_are_reminded_up_to_the_maximum(world: Any, smtp: SMTPSink) -> None:
    incident, escalation, now = _escalated(world, timedelta(minutes=95))
    clock = FakeClock(now)
    watcher = Watcher(clock)
    watcher.tick()
    for _ in range(5):
        clock.advance(timedelta(minutes=15, seconds=1))
        watcher.tick()

    reminders = [m for m in smtp.to("vincent@hipcom.fr") if "relance" in m["Subject"]]
    assert [m["Subject"] for m in reminders] == [
        f"[Escalade] REQ-1042 — relance {n} : escalade niveau 2 non prise en compte" for n in (1, 2, 3)
    ]
    assert incident.timeline.filter(kind=EventKind.ESCALATION_REMINDED).count() == 3
    escalation.refresh_from_db()
    assert escalation.reminders_sent == 3 and escalation.next_reminder_at is None


@pytest.mark.django_db
def test_an_acknowledged_escalation_is_not_reminded(world: Any, smtp: SMTPSink) -> None:
    from escalade.escalations.services import acknowledge_escalation

    _incident, escalation, now = _escalated(world, timedelta(minutes=95))
    acknowledge_escalation(user=world.users["staff"], escalation_id=escalation.pk, now=now)
    clock = FakeClock(now)
    clock.advance(timedelta(minutes=20))
    Watcher(clock).tick()
    assert not [m for m in smtp.to("vincent@hipcom.fr") if "relance" in m["Subject"]]


@pytest.mark.django_db
def test_each_contact_and_requester_reads_the_alert_in_their_own_language(
    world: Any, smtp: SMTPSink, tmp_path: Any
) -> None:
    from escalade.policies import services, store

    before = store.text_of(store.latest())
    english = before.replace('email = "vincent@hipcom.fr"', 'email = "vincent@hipcom.fr"\nlanguage = "en"')
    services.save_version(store.default_name(), english, label="test")
    requester = world.users["customer_a"]
    requester.language = "en"
    requester.save(update_fields=["language"])
    try:
        _incident, escalation, now = _escalated(world, timedelta(minutes=95))  # level 2
        Watcher(FakeClock(now)).tick()
    finally:
        services.save_version(store.default_name(), before, label="test")

    [mail] = smtp.to("vincent@hipcom.fr")  # level 2 contact, who reads English
    assert mail["Subject"] == "[Escalade] REQ-1042 — level 2 escalation to acknowledge"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for expected in ("Hello Vincent BLUSSEAU,", "Incident REQ-1042 is escalated to you at level 2.",
                     "Customer: Client A", "take-charge (30 min): due", "exceeded by 1 h 05", " — 1 h 05 late",
                     f"Escalation {escalation.number} — level 2, requested by", "Reason: Coupure totale du site",
                     "Level 2 contacts:", "Vincent BLUSSEAU — Responsable d'Exploitation: 04 56 40 60 74",
                     "Acknowledge this escalation (one click, then confirm):", "HIPCOM escalation procedure"):
        assert expected in text, expected
    for french in ("Bonjour", "échéance", "dépassé", "Motif", "niveau"):
        assert french not in text, french
    assert '<html lang="en">' in html and "Acknowledge the escalation</a>" in html
    [info] = [m for m in smtp.to("escalade@hipcom.fr") if "pour information" in m["Subject"]]  # level 1: French
    assert info["Subject"] == "[Escalade] REQ-1042 — escalade niveau 2, pour information"
    assert "Bonjour" in info.get_body(("plain",)).get_content()
    [confirmation] = smtp.to("a@client-a.fr")  # the requester chose English on the pages
    assert confirmation["Subject"] == (
        f"[Escalade] REQ-1042 — your level 2 escalation request is recorded ({escalation.number})")
    assert "The people in charge at this level have been told" in confirmation.get_body(("plain",)).get_content()


def test_a_contacts_language_is_one_of_the_catalogues() -> None:
    from django.conf import settings

    from escalade.core.policy import LANGUAGES, PolicyError, policy_from_toml
    from escalade.policies import policy_text

    assert tuple(code for code, _name in settings.LANGUAGES) == LANGUAGES
    broken = policy_text().replace('email = "vincent@hipcom.fr"', 'email = "vincent@hipcom.fr"\nlanguage = "de"')
    with pytest.raises(PolicyError) as caught:
        policy_from_toml(broken)
    assert any(i.path == "contacts[2].language" and "fr, en" in i.message for i in caught.value.issues)
