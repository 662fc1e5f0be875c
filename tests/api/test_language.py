"""One language at a time: `Accept-Language: en` gets the evaluation's sentences and every `detail`
in English, from the catalogue that holds the French; the codes and the policy's own labels do not
change. The seed procedure's numbers, Friday 27/11/2026 12:00 Paris."""

from __future__ import annotations

from datetime import timedelta

import pytest

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def escalate(api, number="REQ-1001", **headers):
    return api("POST", "/escalations", "customer_a", {"request_number": number, "reason": "Service down"},
               **headers)


def test_a_refusal_below_the_threshold_is_worded_in_english(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(minutes=50))  # take-charge due 11:40, 20 min overdue
    response = escalate(api, **EN)
    assert response.status_code == 409
    assert response.body["code"] == "threshold_not_reached"
    assert response.body["detail"] == (
        "The take-charge deadline is exceeded by 20 min, but a level 1 escalation needs it exceeded "
        "by at least 30 min. It becomes possible on 27/11/2026 at 12:10 if the incident is not taken "
        "in charge or resolved by then."
    )
    assert response.body["title"] == "Conflict"


def test_the_same_refusal_stays_french_by_default(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(minutes=50))
    response = escalate(api)
    assert response.body["detail"].startswith(
        "Le délai de prise en charge est dépassé de 20 mn, mais l'escalade de niveau 1 demande un "
        "dépassement d'au moins 30 mn."
    )


def test_the_incident_evaluation_speaks_the_readers_language(api, make_incident):
    make_incident("REQ-1001", ago=timedelta(hours=2))  # take-charge due 10:30: 1 h 30 overdue, level 2
    english = api("GET", "/incidents/REQ-1001", "customer_a", **EN).body["evaluation"]["escalation"]
    french = api("GET", "/incidents/REQ-1001", "customer_a").body["evaluation"]["escalation"]
    assert english["allowed"] is french["allowed"] is True
    assert english["message"] == ("Escalation possible up to level 2: the take-charge deadline is "
                                  "exceeded by 1 h 30. Level 3 opens on 27/11/2026 at 12:30.")
    assert french["message"] == ("Escalade possible jusqu'au niveau 2 : le délai de prise en charge est "
                                 "dépassé de 1 h 30. Le niveau 3 sera ouvert le 27/11/2026 à 12:30.")


def test_a_low_priority_refusal_keeps_the_policys_own_labels(api, make_incident):
    make_incident("REQ-1001", priority="low", ago=timedelta(days=3))
    english = escalate(api, **EN).body["detail"]
    assert english == ("Only incidents of priority level moyen or élevé can be escalated; "
                       "this incident is of priority level faible.")
    # worded once per language and kept: French again afterwards
    assert escalate(api).body["detail"].startswith("Seuls les incidents de niveau de priorité moyen ou élevé")


def test_unknown_numbers_validation_and_authentication_errors_are_in_english(api):
    assert escalate(api, "REQ-9999", **EN).body["detail"] == "No incident has the request number “REQ-9999”."
    invalid = api("POST", "/escalations", "customer_a", {"request_number": "REQ-1", "reason": 3}, **EN)
    assert invalid.status_code == 422
    assert invalid.body["detail"] == "Invalid request body: “reason” must be a string."
    anonymous = api("GET", "/incidents", "anonymous", **EN)
    assert anonymous.status_code == 401
    assert anonymous.body["detail"].startswith("Authentication required: send an API token")


def test_a_staff_only_event_is_refused_in_english_with_the_organisations_name(api, make_incident):
    make_incident("REQ-1001")
    response = api("POST", "/incidents/REQ-1001/events", "customer_a", {"kind": "acknowledge"}, **EN)
    assert response.status_code == 403
    assert response.body["code"] == "event_reserved_to_staff"
    assert response.body["detail"].startswith("Only the HIPCOM team may record the event “acknowledge”")
