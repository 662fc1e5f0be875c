"""Which escalations still owe the helpdesk a comment: asked of the database in one query, however
many escalations there are (the poll used to read every escalation and every comment key each pass).
The comments themselves are checked against a real Request Tracker in test_rt.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from escalade.escalations.services import acknowledge_escalation, request_escalation
from escalade.incidents.models import Channel
from escalade.incidents.services import IncidentInput, upsert_incident
from escalade.sync import services
from escalade.sync.models import AppliedChange
from escalade.sync.rt import RequestTracker, RTSettings

pytestmark = pytest.mark.django_db


def escalated(world, number: str, now):
    # High priority, not taken in charge for 1 h 05: 35 mn past its deadline, level 1 is open.
    upsert_incident(IncidentInput(request_number=number, customer="client-a", priority="high",
                                  opened_at=now - timedelta(hours=1, minutes=5)), user=None, channel="api", now=now)
    return request_escalation(user=world.users["customer_a"], request_number=number, reason="Toujours coupé",
                              now=now, channel=Channel.WEB).escalation


def done(rt: RequestTracker, escalation, step: str) -> None:
    AppliedChange.objects.create(connector=rt.name, key=f"comment:{escalation.pk}:{step}")


def test_only_escalations_with_a_comment_still_to_write_are_read(world, django_assert_num_queries):
    rt = RequestTracker(RTSettings(url="http://127.0.0.1:9"))  # nothing is sent: only its name and prefix count
    now = timezone.now()
    waiting = escalated(world, "RT-1", now)
    acknowledged = escalated(world, "RT-2", now)
    acknowledge_escalation(user=world.users["staff"], escalation_id=acknowledged.pk, now=now)
    escalated(world, "REQ-1099", now)  # not a ticket of this helpdesk

    def pending() -> list[int]:
        with django_assert_num_queries(1):
            return [e.pk for e in services._awaiting_comments(rt)]

    assert pending() == [waiting.pk, acknowledged.pk]
    done(rt, waiting, "granted")
    done(rt, acknowledged, "granted")
    assert pending() == [acknowledged.pk]  # its acknowledgement is still to be written
    done(rt, acknowledged, "acknowledged")
    assert pending() == []
    acknowledge_escalation(user=world.users["staff"], escalation_id=waiting.pk, now=now)
    assert pending() == [waiting.pk]


def test_a_comment_gives_the_time_in_the_policys_zone_and_names_the_team_when_nobody_is_named(world):
    now = timezone.now()
    escalation = escalated(world, "RT-3", now)
    escalation.acknowledged_at, escalation.acknowledged_label = now, ""
    policy = escalation.incident.policy
    [(_, granted), (_, acknowledged)] = services._comments(escalation)
    assert f"accordée le {timezone.localtime(now, policy.timezone):%d/%m/%Y à %H:%M}." in granted
    assert acknowledged.endswith("par l'équipe.")
