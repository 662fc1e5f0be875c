"""E-mails to the procedure's address, decided by `receive` (the MTA-pipe path) and answered through
the real SMTP sink: the procedure's own numbers (high priority: take-charge in 30 mn, level 1 at
30 mn past it, level 2 at 1 h)."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client
from notifications.support import SMTPSink, now_utc, open_incident

from escalade.escalations.models import Escalation
from escalade.incidents.models import EventKind, TimelineEvent
from escalade.mail.models import Decision, InboundMessage
from escalade.mail.services import receive
from escalade.notifications.delivery import deliver_many
from escalade.notifications.models import Notification, NotificationKind

from .support import message

pytestmark = pytest.mark.django_db


def _replies(smtp: SMTPSink, to: str) -> list[EmailMessage]:
    ids = list(Notification.objects.filter(kind=NotificationKind.MAIL_REPLY).values_list("pk", flat=True))
    deliver_many(ids, now_utc() + timedelta(hours=1))  # replies decided at a test's later instants too
    return [m for m in smtp.to(to) if m["X-Escalade-Kind"] == NotificationKind.MAIL_REPLY]


def _text(mail: EmailMessage) -> str:
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def _send(raw: bytes, now: Any = None) -> InboundMessage:
    return receive(raw, now=now or now_utc(), source="pipe").message


def test_a_verified_customer_who_writes_the_number_is_escalated_and_answered_in_the_thread(
    world: Any, smtp: SMTPSink, mail_settings: Any
) -> None:
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=65), now=now)  # 35 mn past
    inbound = _send(message(sender="Alice <A@client-a.fr>", subject="Escalade req - 1042",
                            body="Le site est coupé depuis ce matin.\n\n-- \nAlice, Client A", message_id="<m1@client-a.fr>"), now)
    assert inbound.decision == Decision.GRANTED and inbound.request_number == "REQ-1042"
    escalation = Escalation.objects.get()
    assert escalation.level == 1 and escalation.channel == "email"
    assert escalation.reason == "Le site est coupé depuis ce matin."  # the signature is not the reason
    [reply] = _replies(smtp, "a@client-a.fr")
    assert reply["In-Reply-To"] == "<m1@client-a.fr>" and "<m1@client-a.fr>" in reply["References"]
    assert reply["Subject"] == "Re: Escalade req - 1042" and reply["Auto-Submitted"] == "auto-replied"
    assert reply["From"] == "escalade@hipcom.fr"
    text = _text(reply)
    for expected in ("REQ-1042", "niveau 1", escalation.number, "Support Technique", "04 26 78 10 67",
                     "escalade@hipcom.fr"):
        assert expected in text, expected
    event = TimelineEvent.objects.get(kind=EventKind.MAIL_RECEIVED)
    assert event.data["sender"] == "a@client-a.fr" and event.data["decision"] == "granted"
    # The level's contacts are notified as for any escalation.
    assert Notification.objects.filter(kind=NotificationKind.ESCALATION, escalation=escalation).exists()


def test_the_level_named_in_the_message_is_the_one_asked(world: Any, smtp: SMTPSink, mail_settings: Any) -> None:
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=95), now=now)  # level 2 open
    _send(message(sender="a@client-a.fr", subject="REQ-1042", body="Merci d'escalader au niveau 1.",
                  message_id="<lvl@client-a.fr>"), now)
    assert Escalation.objects.get().level == 1


def test_a_zammad_ticket_number_in_the_subject_is_the_request_and_the_body_s_numbers_are_not(
    world: Any, smtp: SMTPSink, mail_settings: Any
) -> None:
    now = now_utc()
    open_incident(world.customer_a, "10010", now - timedelta(minutes=65), now=now)  # Zammad numbers with digits
    inbound = _send(message(sender="a@client-a.fr", subject="Re: [Ticket#10010] Panne du lien",
                            body="Coupé depuis 2 heures, rappelez-moi au 01 23 45 67 89.",
                            message_id="<zammad@client-a.fr>"), now)
    assert inbound.decision == Decision.GRANTED and inbound.request_number == "10010"
    assert Escalation.objects.get().incident.request_number == "10010"


def test_a_second_request_answers_with_the_existing_escalation(world: Any, smtp: SMTPSink, mail_settings: Any) -> None:
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=65), now=now)
    _send(message(sender="a@client-a.fr", subject="REQ-1042", body="Coupure.", message_id="<a1@x>"), now)
    second = _send(message(sender="a@client-a.fr", subject="Toujours rien REQ-1042", body="Relance.",
                           message_id="<a2@x>"), now + timedelta(minutes=1))
    assert second.decision == Decision.REPEATED and Escalation.objects.count() == 1
    texts = [_text(m) for m in _replies(smtp, "a@client-a.fr")]
    assert any("est déjà enregistrée" in t and "pas encore prise en compte" in t for t in texts), texts


def test_not_yet_eligible_gives_the_reason_and_when(world: Any, smtp: SMTPSink, mail_settings: Any) -> None:
    now = now_utc().replace(second=0, microsecond=0)
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=40), now=now)  # 10 mn past
    inbound = _send(message(sender="a@client-a.fr", subject="REQ-1042", body="Vite.", message_id="<e@x>"), now)
    assert inbound.decision == Decision.REFUSED and inbound.code == "threshold_not_reached"
    [reply] = _replies(smtp, "a@client-a.fr")
    assert "Escalade possible à partir du" in _text(reply) and "dans 20 mn" in _text(reply)
    assert not Escalation.objects.exists()


@pytest.mark.parametrize(("priority", "resolved", "code"), [("low", False, "priority_not_escalable"),
                                                             ("high", True, "incident_resolved")])
def test_low_priority_and_resolved_incidents_are_refused_with_the_reason(
    world: Any, smtp: SMTPSink, mail_settings: Any, priority: str, resolved: bool, code: str
) -> None:
    from escalade.incidents.services import apply_event

    now = now_utc()
    incident = open_incident(world.customer_a, "REQ-1042", now - timedelta(hours=3), now=now, priority=priority)
    if resolved:
        apply_event(incident, "resolve", user=None, channel="api", now=now, at=now - timedelta(minutes=5))
    inbound = _send(message(sender="a@client-a.fr", subject="REQ-1042", body="x", message_id=f"<{code}@x>"), now)
    assert inbound.decision == Decision.REFUSED and inbound.code == code
    [reply] = _replies(smtp, "a@client-a.fr")
    assert "n'est pas possible maintenant" in _text(reply)


def test_no_number_answers_the_procedure_rule(world: Any, smtp: SMTPSink, mail_settings: Any) -> None:
    inbound = _send(message(sender="a@client-a.fr", subject="Urgent", body="Tout est en panne",
                            message_id="<n@x>"))
    assert inbound.decision == Decision.NO_NUMBER
    [reply] = _replies(smtp, "a@client-a.fr")
    assert "numéro de requête" in _text(reply) and "REQ-1042" in _text(reply)  # the policy's example


def test_two_numbers_ask_which(world: Any, smtp: SMTPSink, mail_settings: Any) -> None:
    inbound = _send(message(sender="a@client-a.fr", subject="REQ-1042 et REQ-1043", body="x", message_id="<2@x>"))
    assert inbound.decision == Decision.SEVERAL_NUMBERS
    [reply] = _replies(smtp, "a@client-a.fr")
    assert "REQ-1042, REQ-1043" in _text(reply)


def test_unknown_number_another_customers_number_and_unknown_sender_get_the_same_answer(
    world: Any, smtp: SMTPSink, mail_settings: Any
) -> None:
    now = now_utc()
    open_incident(world.customer_b, "REQ-2001", now - timedelta(hours=2), now=now)
    cases = [("a@client-a.fr", "REQ-9999"), ("a@client-a.fr", "REQ-2001"), ("intrus@ailleurs.fr", "REQ-2001")]
    for index, (sender, number) in enumerate(cases):
        inbound = _send(message(sender=sender, subject=number, body="x", message_id=f"<u{index}@x>"), now)
        assert inbound.decision == Decision.UNKNOWN
    answers = [_text(m) for m in _replies(smtp, "a@client-a.fr") + _replies(smtp, "intrus@ailleurs.fr")]
    assert len(answers) == 3 and len(set(answers)) == 1
    assert "REQ-2001" not in answers[0] and "04 26 78 10 67" in answers[0]  # the general lines
    assert not Escalation.objects.exists()
    assert not TimelineEvent.objects.filter(kind=EventKind.MAIL_RECEIVED).exists()


def test_a_forged_from_without_dmarc_pass_escalates_only_once_the_link_is_followed(
    world: Any, smtp: SMTPSink, mail_settings: Any
) -> None:
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=65), now=now)
    # The forger writes its own verdict: a host the operator did not name is not believed.
    raw = message(sender="a@client-a.fr", subject="REQ-1042", body="Escaladez", message_id="<f@evil>",
                  dmarc=False, headers={"Authentication-Results": "evil.example; dmarc=pass",
                                        "Reply-To": "forger@evil.example"})
    inbound = _send(raw, now)
    assert inbound.decision == Decision.AWAITING_CONFIRMATION and not Escalation.objects.exists()
    [confirmation] = _replies(smtp, "a@client-a.fr")  # to the address we know, never the Reply-To
    link = next(word for word in _text(confirmation).split() if "/mail/confirmer/" in word)
    path = link.split("127.0.0.1:8000", 1)[-1] if "127.0.0.1:8000" in link else "/" + link.split("/", 3)[3]
    client = Client(SERVER_NAME="localhost")
    page = client.get(path)
    assert page.status_code == 200 and "REQ-1042" in page.content.decode() and not Escalation.objects.exists()
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200  # twice is once
    assert Escalation.objects.count() == 1
    inbound.refresh_from_db()
    assert inbound.decision == Decision.GRANTED and inbound.confirmed_at is not None
    assert client.get("/mail/confirmer/forged-token/").status_code == 404


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"Return-Path": "<>"},
    {"X-Autoreply": "yes"}, {"Message-ID": "<0123456789abcdef@escalade>"},
])
def test_auto_replies_bounces_and_our_own_messages_are_recorded_and_never_answered(
    world: Any, smtp: SMTPSink, mail_settings: Any, headers: dict[str, str]
) -> None:
    message_id = headers.pop("Message-ID", "<auto@x>")
    inbound = _send(message(sender="a@client-a.fr", subject="Absence REQ-1042", body="Je suis absent.",
                            message_id=message_id, headers=headers))
    assert inbound.decision == Decision.AUTOMATIC
    assert not Notification.objects.filter(kind=NotificationKind.MAIL_REPLY).exists()


def test_a_mailer_daemon_bounce_is_never_answered(world: Any, smtp: SMTPSink, mail_settings: Any) -> None:
    inbound = _send(message(sender="MAILER-DAEMON@client-a.fr", subject="Undelivered", body="x", message_id="<b@x>"))
    assert inbound.decision == Decision.AUTOMATIC


def test_replies_to_one_sender_are_limited(world: Any, smtp: SMTPSink, mail_settings: Any) -> None:
    mail_settings.THROTTLE_RATES = {**mail_settings.THROTTLE_RATES, "mail_replies_per_sender": (3, 3600)}
    now = now_utc()
    for index in range(6):
        _send(message(sender="robot@client-a.fr", subject="Hello", body="x", message_id=f"<r{index}@x>"), now)
    assert InboundMessage.objects.count() == 6
    assert Notification.objects.filter(kind=NotificationKind.MAIL_REPLY).count() == 3


def test_the_same_message_delivered_twice_is_decided_and_answered_once(
    world: Any, smtp: SMTPSink, mail_settings: Any
) -> None:
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=65), now=now)
    raw = message(sender="a@client-a.fr", subject="REQ-1042", body="Coupure.", message_id="<dup@x>")
    first = receive(raw, now=now, source="pipe")
    second = receive(raw, now=now + timedelta(seconds=5), source="imap")
    assert not first.duplicate and second.duplicate and second.message.pk == first.message.pk
    assert Escalation.objects.count() == 1 and len(_replies(smtp, "a@client-a.fr")) == 1


@pytest.mark.parametrize("charset", ["iso-8859-1", "utf-16"])
def test_messages_in_other_encodings_are_read(world: Any, smtp: SMTPSink, mail_settings: Any, charset: str) -> None:
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=65), now=now)
    inbound = _send(message(sender="a@client-a.fr", subject="Escalade REQ-1042", body="Coupure générale à Lyon",
                            message_id=f"<{charset}@x>", charset=charset), now)
    assert inbound.decision == Decision.GRANTED and Escalation.objects.get().reason == "Coupure générale à Lyon"


def test_a_message_too_large_or_without_text_is_an_error_with_a_short_answer(
    world: Any, smtp: SMTPSink, mail_settings: Any
) -> None:
    big = EmailMessage()
    big["From"], big["Subject"], big["Message-ID"] = "a@client-a.fr", "REQ-1042", "<big@x>"
    big.set_content("Voir la pièce jointe")
    big.add_attachment(b"\0" * (20 * 1024 * 1024), maintype="application", subtype="octet-stream", filename="trace.bin")
    inbound = _send(big.as_bytes())
    assert inbound.decision == Decision.ERROR and "taille" in inbound.detail
    image = EmailMessage()
    image["From"], image["Subject"], image["Message-ID"] = "a@client-a.fr", "REQ-1042", "<img@x>"
    image.set_content(b"\x89PNG", maintype="image", subtype="png")
    assert _send(image.as_bytes()).decision == Decision.ERROR
    assert len(_replies(smtp, "a@client-a.fr")) == 2


def test_staff_see_messages_waiting_for_confirmation_or_in_error_on_the_dashboard(
    world: Any, smtp: SMTPSink, mail_settings: Any
) -> None:
    from web.support import log_in

    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=65), now=now)
    _send(message(sender="a@client-a.fr", subject="REQ-1042 urgent", body="x", message_id="<w@x>", dmarc=False), now)
    _send(message(sender="a@client-a.fr", subject="REQ-1042 vide", body="", message_id="<granted@x>"), now)
    client = Client(SERVER_NAME="localhost")
    assert log_in(client, "staff", "pw-s-12345")
    page = client.get("/tableau-de-bord/").content.decode()
    assert "E-mails à suivre" in page and "REQ-1042 urgent" in page and "en attente de confirmation" in page
    panel = page[page.index('id="mail-title"'):]
    panel = panel[:panel.index("</section>")]
    assert "REQ-1042 urgent" in panel and "REQ-1042 vide" not in panel  # decided: nothing to follow


def test_a_subject_in_an_unknown_charset_is_still_decided(world: Any, smtp: SMTPSink, mail_settings: Any) -> None:
    raw = message(sender="a@client-a.fr", subject="x", body="Panne", message_id="<charset@x>").replace(
        b"Subject: x", b"Subject: =?x-unknown?q?urgent?= REQ-1042")
    inbound = _send(raw)
    assert inbound.decision == Decision.UNKNOWN and "REQ-1042" in inbound.subject  # no such incident


def test_a_message_that_breaks_the_service_is_recorded_as_an_error_not_lost(
    world: Any, smtp: SMTPSink, mail_settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from escalade.mail import services

    def broken(*args: object) -> str:
        raise RuntimeError("bug")

    monkeypatch.setattr(services.rules, "own_words", broken)
    inbound = _send(message(sender="a@client-a.fr", subject="REQ-1042", body="x", message_id="<bug@x>"))
    assert inbound.decision == Decision.ERROR and inbound.code == "internal_error"
    assert "RuntimeError: bug" in caplog.text
    assert receive(message(sender="a@client-a.fr", subject="REQ-1042", body="x", message_id="<bug@x>"),
                   now=now_utc(), source="imap").duplicate
