"""The outbox's rows for an escalation granted: who gets what, written in one statement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalade.escalations.services import request_escalation
from escalade.notifications.models import Notification

from .support import now_utc, open_incident

pytestmark = pytest.mark.django_db


def _granted(world: Any, user: Any, overdue: timedelta) -> tuple[Any, list[Any]]:
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=30) - overdue, now=now)
    with CaptureQueriesContext(connection) as captured:
        outcome = request_escalation(user=user, request_number="REQ-1042", reason="Coupure totale", now=now)
    inserts = [q["sql"] for q in captured if q["sql"].startswith('INSERT INTO "notifications_notification"')]
    return outcome.escalation, inserts


def test_a_level_3_grant_notifies_its_contact_informs_levels_1_and_2_and_confirms_in_one_statement(world):
    escalation, inserts = _granted(world, world.users["customer_a"], timedelta(hours=4))  # 4 h overdue: level 3
    assert escalation.level == 3
    assert len(inserts) == 1  # four rows: one statement, no savepoint each
    rows = Notification.objects.filter(escalation=escalation).order_by("pk")
    assert [(r.kind, r.recipient) for r in rows] == [
        ("escalation", "guillaume@hipcom.fr"),
        ("escalation_info", "escalade@hipcom.fr"),
        ("escalation_info", "vincent@hipcom.fr"),
        ("confirmation", "a@client-a.fr"),
    ]
    assert {r.idempotency_key for r in rows} == {f"escalation:{escalation.pk}:email:{r.recipient}" for r in rows}


def test_a_requester_who_is_also_a_contact_of_the_level_gets_one_message_the_contacts(world):
    staff = world.users["staff"]
    staff.email = "vincent@hipcom.fr"  # the level-2 contact asks for level 2 himself
    staff.save()
    escalation, _ = _granted(world, staff, timedelta(minutes=65))
    assert escalation.level == 2
    rows = Notification.objects.filter(escalation=escalation)
    assert sorted((r.kind, r.recipient) for r in rows) == [
        ("escalation", "vincent@hipcom.fr"), ("escalation_info", "escalade@hipcom.fr")]
