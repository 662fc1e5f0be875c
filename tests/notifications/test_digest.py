"""A mass outage: many alerts due at once for one address leave as a few digests, read back from a
real SMTP server; escalations and few alerts still leave alone."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from typing import Any

import pytest

from escalade.escalations.services import request_escalation
from escalade.notifications.channels import message_id
from escalade.notifications.models import DeliveryStatus, Notification, NotificationKind
from escalade.worker import Watcher

from .support import FakeClock, SMTPSink, free_port, now_utc, open_incident

SUPPORT = "escalade@hipcom.fr"  # the support track's level-1 contact: every breach alert goes there


def _outage(world: Any, count: int, *, minutes_ago: int = 31) -> Any:
    """`count` high incidents of customer A opened together, past their 30 mn take-charge deadline."""
    now = now_utc()
    for i in range(count):
        open_incident(world.customer_a, f"REQ-{1001 + i}", now - timedelta(minutes=minutes_ago, seconds=i), now=now)
    return now


def _breach_mails(smtp: SMTPSink) -> list[Any]:
    return [m for m in smtp.to(SUPPORT) if "dépass" in m["Subject"] or "alertes" in m["Subject"]]


@pytest.mark.django_db
def test_seven_breaches_at_once_reach_the_support_line_as_one_email_naming_each(world: Any, smtp: SMTPSink) -> None:
    now = _outage(world, 7)
    Watcher(FakeClock(now)).tick()

    [digest] = _breach_mails(smtp)
    # The longest past its deadline first: REQ-1007 was opened 6 s before REQ-1001.
    assert digest["Subject"] == "[Escalade] 7 alertes : REQ-1007, REQ-1006, REQ-1005 et 4 autres"
    assert digest["X-Escalade-Kind"] == "digest"
    text = digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    for i in range(7):
        number = f"REQ-{1001 + i}"
        assert f"- {number} (Client A, élevé) : délai de prise en charge dépassé — 1 mn de retard" in text
        assert f"/incidents/{number}/" in text and f">{number}</a>" in html
    assert "7 alertes en même temps" in text and "04 26 78 10 67" in text  # the support line's phone
    rows = Notification.objects.filter(kind=NotificationKind.BREACH)
    assert rows.count() == 7 and set(rows.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    # Each alert's own Message-ID is named: a receiver can tell it arrived, and whether twice.
    in_order = sorted(rows, key=lambda r: r.context["at"])
    assert digest["X-Escalade-Covers"].split() == [message_id(r.idempotency_key) for r in in_order]


@pytest.mark.django_db
def test_fewer_alerts_than_the_threshold_leave_one_by_one(world: Any, smtp: SMTPSink) -> None:
    now = _outage(world, 4)
    Watcher(FakeClock(now)).tick()
    mails = _breach_mails(smtp)
    assert sorted(m["Subject"] for m in mails) == [
        f"[Escalade] REQ-{1001 + i} — délai de prise en charge dépassé" for i in range(4)]


@pytest.mark.django_db
def test_an_escalation_leaves_alone_and_first_with_its_acknowledgement_link(world: Any, smtp: SMTPSink) -> None:
    now = _outage(world, 6, minutes_ago=95)  # 65 mn overdue: level 2 open
    request_escalation(user=world.users["customer_a"], request_number="REQ-1001", reason="Site coupé", now=now)
    Watcher(FakeClock(now)).tick()
    escalation = [m for m in smtp.to("vincent@hipcom.fr") if "à prendre en compte" in m["Subject"]]
    assert len(escalation) == 1 and "/ack/" in escalation[0].get_body(("plain",)).get_content()
    digests = [m for m in smtp.messages if m[1]["X-Escalade-Kind"] == "digest"]
    assert digests and all("/ack/" not in m.get_body(("plain",)).get_content() for _r, m in digests)
    kinds = [m["X-Escalade-Kind"] for _r, m in smtp.messages]
    assert kinds.index("escalation") < kinds.index("digest")  # what a person must act on leaves first


@pytest.mark.django_db
def test_a_digest_holds_at_most_digest_max_alerts(world: Any, smtp: SMTPSink, settings: Any) -> None:
    settings.ESCALADE_DELIVERY_DIGEST_MAX = 5
    now = _outage(world, 12)
    Watcher(FakeClock(now)).tick()
    subjects = sorted(m["Subject"] for m in _breach_mails(smtp))
    # 12 alerts: two digests of 5, and the last 2 (fewer than 5) alone.
    assert [s.split(" :")[0] for s in subjects if "alertes" in s] == ["[Escalade] 5 alertes"] * 2
    assert len(subjects) == 4


@pytest.mark.django_db
def test_a_failed_digest_retries_each_alert_with_backoff(world: Any, settings: Any) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2}}}
    now = _outage(world, 6)
    Watcher(FakeClock(now)).tick()
    rows = Notification.objects.filter(kind=NotificationKind.BREACH)
    assert {(r.status, r.attempts) for r in rows} == {(DeliveryStatus.PENDING, 1)}
    assert all("ConnectionRefusedError" in r.last_error for r in rows)


@pytest.mark.django_db
def test_digests_can_be_turned_off(world: Any, smtp: SMTPSink, settings: Any) -> None:
    settings.ESCALADE_DELIVERY_DIGEST_FROM = 0
    now = _outage(world, 7)
    Watcher(FakeClock(now)).tick()
    assert len(_breach_mails(smtp)) == 7


@pytest.mark.django_db
def test_an_english_reader_gets_the_digest_in_english(world: Any, smtp: SMTPSink) -> None:
    from django.utils import translation

    from escalade.notifications.delivery import send_digest
    from escalade.worker import TickReport

    now = _outage(world, 5)
    Watcher(FakeClock(now)).watch(TickReport())
    rows = list(Notification.objects.filter(kind=NotificationKind.BREACH).select_related("incident__customer")
                .order_by("pk"))
    for row in rows:
        row.context = {**row.context, "language": "en"}
    send_digest(sorted(rows, key=lambda r: r.context["at"]), now)
    [mail] = smtp.to(SUPPORT)
    assert mail["Subject"] == "[Escalade] 5 alerts: REQ-1005, REQ-1004, REQ-1003 and 2 more"
    text = mail.get_body(("plain",)).get_content()
    assert "5 alerts at once" in text and "(Client A, élevé): take-charge deadline exceeded — 1 min late" in text
    assert "dépass" not in text and translation.get_language() == "fr"


@pytest.mark.django_db
def test_a_digest_over_two_contracts_lists_each_policys_own_contacts(world: Any, smtp: SMTPSink) -> None:
    """Customer B's contract follows "gold", whose level-1 line shares HIPCOM's support address:
    one digest, and the reader finds whom to call for each contract, with that contract's number."""
    from escalade.incidents.models import Contract
    from escalade.policies import services

    shipped = resources.files("escalade.policies").joinpath("example-gold.toml").read_text(encoding="utf-8")
    gold = shipped.replace('email = "gold@opale.example"', f'email = "{SUPPORT}"')
    services.save_version("gold", gold, label="tests")
    Contract.objects.filter(customer=world.customer_b).update(policy="gold")
    world.customer_b.refresh_from_db()
    now = _outage(world, 4)
    for i in range(4):  # P1: taken in charge within 15 mn, around the clock
        open_incident(world.customer_b, f"INC00{10001 + i}", now - timedelta(minutes=16, seconds=i), priority="p1",
                      now=now, track="service-desk")
    Watcher(FakeClock(now)).tick()

    [digest] = _breach_mails(smtp)
    text = digest.get_body(("plain",)).get_content()
    assert "REQ-1001 (Client A, élevé)" in text and "INC0010001 (Client B, P1 critique)" in text
    assert "Support Technique" in text and "04 26 78 10 67" in text  # HIPCOM's support line
    assert "Centre de services Gold" in text and "03 87 00 00 10" in text  # gold's own
