"""POST /api/v1/escalations against the seed procedure's numbers (Friday 27/11/2026, 12:00 Paris)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalade.escalations.models import Escalation, EscalationRequest
from escalade.notifications.models import Notification

pytestmark = pytest.mark.django_db


def escalate(api, number="REQ-1001", who="customer_a", **body):
    return api("POST", "/escalations", who, {"request_number": number, "reason": "Service coupé", **body})


def test_missing_request_number_is_refused_with_the_procedure_rule(api, make_incident):
    response = api("POST", "/escalations", "customer_a", {"reason": "Service coupé"})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.body["code"] == "request_number_required"
    assert "numéro de requête" in response.body["detail"] and "obligatoire" in response.body["detail"]


def test_blank_request_number_counts_as_missing(api):
    response = api("POST", "/escalations", "customer_a", {"request_number": "  ", "reason": "x"})
    assert response.status_code == 422
    assert response.body["code"] == "request_number_required"


def test_unknown_request_number_answers_404(api):
    response = escalate(api, "REQ-9999")
    assert response.status_code == 404
    assert response.body["code"] == "incident_not_found"
    assert "REQ-9999" in response.body["detail"]


def test_low_priority_is_not_escalable(api, make_incident):
    make_incident("REQ-1001", priority="low", ago=timedelta(days=3))
    response = escalate(api)
    assert response.status_code == 409
    assert response.body["code"] == "priority_not_escalable"
    assert response.body["evaluation"]["escalation"]["allowed"] is False


def test_high_priority_not_yet_overdue_gives_eligible_at(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(minutes=20))  # opened 11:40, take charge due 12:10
    response = escalate(api)
    assert response.status_code == 409
    assert response.body["code"] == "no_commitment_exceeded"
    assert response.body["eligible_at"] == "2026-11-27T12:40:00+01:00"


def test_high_priority_overdue_below_30_minutes_is_threshold_not_reached(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(minutes=50))  # due 11:40, 20 min overdue
    response = escalate(api)
    assert response.status_code == 409
    assert response.body["code"] == "threshold_not_reached"
    assert response.body["eligible_at"] == "2026-11-27T12:10:00+01:00"
    assert response.body["evaluation"]["commitments"]["take_charge"]["overdue_minutes"] == 20


def test_high_priority_level_1_opens_at_exactly_30_minutes_overdue(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=1))  # due 11:30, 30 min overdue at 12:00
    response = escalate(api)
    assert response.status_code == 201
    body = response.body
    assert body["level"] == 1
    assert body["number"] == f"ESC-{body['id']:06d}"
    assert body["request_number"] == "REQ-1001"
    assert body["channel"] == "api"
    assert body["requester_role"] == "customer"
    assert body["granted_at"] == "2026-11-27T12:00:00+01:00"
    assert body["acknowledged_at"] is None
    assert body["contacts"] == [
        {"level": 1, "name": "Support Technique", "role": "Escalade Support",
         "phones": ["+33426781067"], "email": "escalade@hipcom.fr"}
    ]
    assert body["evaluation"]["escalation"]["level"] == 1


def test_production_track_level_1_goes_to_service_production(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=1), track="production")
    response = escalate(api)
    assert response.status_code == 201
    assert [c["name"] for c in response.body["contacts"]] == ["Adrien Bourdon"]


def test_same_level_again_answers_200_and_notifies_once(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=1))
    first = escalate(api)
    notified = Notification.objects.count()
    second = escalate(api, who="partner_a")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.body["id"] == first.body["id"]
    assert Escalation.objects.count() == 1
    assert notified > 0
    assert Notification.objects.count() == notified
    assert EscalationRequest.objects.filter(escalation_id=first.body["id"]).count() == 2


def test_asking_above_the_allowed_level_names_the_allowed_level(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=1))  # level 1 only
    response = escalate(api, level=2)
    assert response.status_code == 409
    assert response.body["code"] == "level_above_allowed"
    assert response.body["allowed_level"] == 1
    assert "niveau 1" in response.body["detail"]
    assert not Escalation.objects.exists()


def test_a_lower_level_than_allowed_may_be_asked(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=2, minutes=30))  # 2 h overdue: level 3
    response = escalate(api, level=2)
    assert response.status_code == 201
    assert response.body["level"] == 2
    assert [c["name"] for c in response.body["contacts"]] == ["Vincent BLUSSEAU"]


def test_high_priority_two_hours_overdue_reaches_the_director(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=2, minutes=30))
    response = escalate(api)
    assert response.status_code == 201
    assert response.body["level"] == 3
    assert response.body["contacts"][0]["name"] == "Guillaume MASUIT"
    assert response.body["contacts"][0]["phones"] == ["+33456406000"]


def test_medium_priority_level_1_needs_one_hour_past_take_charge(api, make_incident):
    make_incident("REQ-2001", customer="client-b", priority="medium", ago=timedelta(hours=3))
    response = escalate(api, "REQ-2001", who="customer_b")
    assert response.status_code == 201
    assert response.body["level"] == 1


def test_resolved_incident_cannot_be_escalated(api, make_incident, now):
    make_incident("REQ-1001", ago=timedelta(hours=3), resolved_at=now - timedelta(minutes=5))
    response = escalate(api)
    assert response.status_code == 409
    assert response.body["code"] == "incident_resolved"


def test_reason_is_required(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=1))
    response = api("POST", "/escalations", "customer_a", {"request_number": "REQ-1001"})
    assert response.status_code == 422
    assert response.body["code"] == "reason_required"


@pytest.mark.parametrize("body", [{"request_number": "REQ-1001", "reason": "x", "level": 7},
                                  {"request_number": "REQ-1001", "reason": "x", "level": "deux"},
                                  {"request_number": 1001, "reason": "x"}])
def test_invalid_body_is_422_in_french(api, make_incident, body):
    make_incident("REQ-1001", ago=timedelta(hours=1))
    response = api("POST", "/escalations", "customer_a", body)
    assert response.status_code == 422
    assert response.body["code"] == "invalid_body"
    assert response.body["detail"].startswith("Corps de requête invalide")


def test_only_staff_records_a_phone_escalation(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=1))
    refused = escalate(api, channel="phone")
    assert refused.status_code == 403
    assert refused.body["code"] == "phone_requires_staff"
    granted = escalate(api, who="staff", channel="phone", on_behalf_of="M. Martin (Client A)")
    assert granted.status_code == 201
    assert granted.body["channel"] == "phone"
    assert "pour M. Martin" in granted.body["requester"]


def test_staff_acknowledges_an_escalation(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=1))
    escalation_id = escalate(api).body["id"]
    response = api("POST", f"/escalations/{escalation_id}/ack", "staff")
    assert response.status_code == 200
    assert response.body["acknowledged_at"] == "2026-11-27T12:00:00+01:00"
    assert response.body["acknowledged_by"] == "staff"
    again = api("POST", f"/escalations/{escalation_id}/ack", "staff")
    assert again.status_code == 200


def test_escalation_list_filters_by_acknowledged_and_level(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=2, minutes=30))
    first = escalate(api, level=1).body["id"]
    escalate(api, level=3)
    api("POST", f"/escalations/{first}/ack", "staff")
    assert api("GET", "/escalations").body["count"] == 2
    assert [e["level"] for e in api("GET", "/escalations?acknowledged=false").body["items"]] == [3]
    assert [e["level"] for e in api("GET", "/escalations?level=1").body["items"]] == [1]
    detail = api("GET", f"/escalations/{first}")
    assert detail.status_code == 200 and detail.body["evaluation"]["escalation"]["level"] == 3


@pytest.mark.parametrize(("extra", "code"), [
    ({"channel": "email"}, "channel_reserved_to_staff"),
    ({"on_behalf_of": "Directeur HIPCOM"}, "on_behalf_reserved_to_staff"),
])
def test_customers_escalate_for_themselves_through_the_portal_or_the_api_only(api, make_incident, extra, code):
    """A customer recorded "… pour Directeur HIPCOM" with channel e-mail; both are staff's to record."""
    from escalade.escalations.models import EscalationRequest

    make_incident("REQ-1001", ago=timedelta(hours=1))
    refused = escalate(api, who="customer_a", **extra)
    assert (refused.status_code, refused.body["code"]) == (403, code)
    assert not EscalationRequest.objects.exists()
    assert escalate(api, who="staff", **extra).status_code == 201
