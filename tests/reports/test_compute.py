"""The report's groups: newest month first, then by customer code (not by the order the customers were
created in), then by priority; each group named after its own customer."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=PARIS)
LEVELS = (1, 2, 3)

pytestmark = pytest.mark.django_db


def test_groups_come_by_month_then_customer_code_then_priority_with_their_customer_s_name(world):
    from escalade.incidents.models import Contract, Customer, Incident
    from escalade.incidents.services import IncidentInput, upsert_incident
    from escalade.reports import compute

    zeta = Customer.objects.create(code="zeta", name="Zêta Télécom")  # created first: the lower id
    alpha = Customer.objects.create(code="alpha", name="Alpha Réseaux")
    for customer in (zeta, alpha):
        Contract.objects.create(customer=customer, gtr=False)
    opened = [datetime(2026, 2, 10, 9, 0, tzinfo=PARIS), datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)]
    n = 1000
    for at in opened:
        for customer in ("zeta", "alpha"):
            for priority in ("medium", "high"):
                n += 1
                upsert_incident(IncidentInput(request_number=f"REQ-{n}", customer=customer, priority=priority,
                                              opened_at=at.isoformat(),
                                              acknowledged_at=(at + timedelta(minutes=20)).isoformat()),
                                user=None, channel="api", now=NOW)

    rows = compute.report(Incident.objects.filter(opened_at__gte=datetime(2026, 2, 1, tzinfo=PARIS)), NOW, LEVELS)

    assert [(r.month.month, r.customer_code, r.customer_name, r.priority, r.incidents) for r in rows] == [
        (3, "alpha", "Alpha Réseaux", "high", 1), (3, "alpha", "Alpha Réseaux", "medium", 1),
        (3, "zeta", "Zêta Télécom", "high", 1), (3, "zeta", "Zêta Télécom", "medium", 1),
        (2, "alpha", "Alpha Réseaux", "high", 1), (2, "alpha", "Alpha Réseaux", "medium", 1),
        (2, "zeta", "Zêta Télécom", "high", 1), (2, "zeta", "Zêta Télécom", "medium", 1),
    ]


def test_each_group_counts_its_escalations_per_level_an_incident_escalated_twice_included(world):
    from escalade.escalations.models import Escalation
    from escalade.incidents.models import Incident
    from escalade.incidents.services import IncidentInput, upsert_incident
    from escalade.reports import compute

    opened = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)
    incidents = {}
    for n, priority in ((1001, "high"), (1002, "high"), (1003, "medium"), (1004, "high")):
        incidents[n], _ = upsert_incident(IncidentInput(request_number=f"REQ-{n}", customer="client-a",
                                                        priority=priority, opened_at=opened.isoformat()),
                                          user=None, channel="api", now=NOW)
    for n, level in ((1001, 1), (1001, 2), (1002, 1), (1003, 1)):  # REQ-1001 at levels 1 and 2
        Escalation.objects.create(incident=incidents[n], level=level, requester_role="staff", channel="api",
                                  reason="Panne toujours là", granted_at=NOW)

    rows = compute.report(Incident.objects.filter(opened_at__gte=opened), NOW, LEVELS)

    assert [(r.priority, r.incidents, r.escalations) for r in rows] == [("high", 3, (2, 1, 0)),
                                                                         ("medium", 1, (1, 0, 0))]
