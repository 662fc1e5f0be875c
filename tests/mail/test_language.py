"""The answer to an e-mail is in its reader's language: the one the user chose on the pages, else the
one the message is written in (Content-Language), else the organisation's French. The procedure's
numbers: high priority, take-charge in 30 mn, level 1 at 30 mn past it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from notifications.support import SMTPSink, now_utc, open_incident
from web.support import log_in

from escalade.mail.models import Decision

from .support import message
from .test_services import _replies, _send, _text

pytestmark = pytest.mark.django_db


def _answer(smtp: SMTPSink, to: str) -> str:
    return _text(_replies(smtp, to)[0]).replace("\r\n", "\n")


def test_a_user_who_chose_english_is_answered_in_english(world: Any, smtp: SMTPSink, mail_settings: Any) -> None:
    user = world.users["customer_a"]
    user.language = "en"
    user.save()
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=50), now=now)  # 20 mn past take-charge
    inbound = _send(message(sender="a@client-a.fr", subject="REQ-1042", body="Le site est coupé.",
                            message_id="<en1@client-a.fr>"), now)
    assert inbound.decision == Decision.REFUSED and inbound.code == "threshold_not_reached"
    text = _answer(smtp, "a@client-a.fr")
    assert text.startswith("Hello,\n\nIncident REQ-1042 cannot be escalated now.\n\nThe take-charge deadline "
                           "is exceeded by 20 min, but a level 1 escalation needs it exceeded by at least 30 min.")
    assert ", in 10 min." in text and "Our general lines:" in text
    assert "HIPCOM, escalation procedure" in text
    for french in ("Bonjour", "délai", "dépassé", "possible le", "lignes générales"):
        assert french not in text, french


def test_the_same_request_from_a_user_without_a_choice_is_answered_in_french(
    world: Any, smtp: SMTPSink, mail_settings: Any
) -> None:
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=50), now=now)
    _send(message(sender="a@client-a.fr", subject="REQ-1042", body="Coupure.", message_id="<fr1@client-a.fr>"), now)
    text = _answer(smtp, "a@client-a.fr")
    assert text.startswith("Bonjour,\n\nL'escalade de l'incident REQ-1042 n'est pas possible maintenant.")
    assert ", dans 10 mn." in text


def test_an_unknown_sender_writing_in_english_gets_the_unknown_answer_in_english(
    world: Any, smtp: SMTPSink, mail_settings: Any
) -> None:
    _send(message(sender="someone@elsewhere.example", subject="REQ-1042", body="Please escalate.",
                  message_id="<u-en@elsewhere>", headers={"Content-Language": "en-GB"}))
    text = _answer(smtp, "someone@elsewhere.example")
    assert "We cannot act on your message: it matches no incident you can escalate from this address." in text
    assert "Nous ne pouvons pas" not in text


def test_choosing_english_on_the_pages_is_remembered_for_the_answers(world: Any) -> None:
    client = Client(SERVER_NAME="localhost")
    log_in(client, "cust-a", "pw-a-12345")
    response = client.post("/langue/setlang/", {"language": "en", "next": "/portail/"})
    assert response.status_code == 302
    world.users["customer_a"].refresh_from_db()
    assert world.users["customer_a"].language == "en"
    client.post("/langue/setlang/", {"language": "xx", "next": "/portail/"})  # not a language: no change
    world.users["customer_a"].refresh_from_db()
    assert world.users["customer_a"].language == "en"
