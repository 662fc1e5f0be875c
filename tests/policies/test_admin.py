"""Staff edit a policy in the admin: as TOML (messages at their paths, the diff shown, a confirmed
save) or its contacts in a form; every save is a new version, in the editor's name."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from escalade.incidents.models import Channel
from escalade.incidents.services import IncidentInput, upsert_incident
from escalade.policies import store
from escalade.policies.models import PolicyVersion

pytestmark = pytest.mark.django_db
ADD = "/admin/policies/policyversion/add/"


@pytest.fixture
def admin_client(world) -> Client:
    client = Client()
    client.force_login(world.users["admin"])
    return client


def _text() -> str:
    return store.text_of(store.latest("hipcom"))


def test_the_add_form_starts_from_the_version_in_force(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert "Adrien Bourdon" in page and 'value="hipcom"' in page


def test_an_invalid_edit_is_refused_with_the_message_at_its_path_and_nothing_is_saved(admin_client):
    broken = _text().replace('escalation_thresholds = ["30min", "1h", "2h"]', 'escalation_thresholds = ["1h", "30min", "2h"]')
    response = admin_client.post(ADD, {"name": "hipcom", "text": broken, "comment": "", "confirmed": "on"})
    assert response.status_code == 200
    assert "priorities.high.escalation_thresholds[1] : les seuils doivent croître strictement" in response.content.decode()
    assert PolicyVersion.objects.count() == 1


def test_an_invalid_edit_is_refused_in_the_editors_language(admin_client):
    broken = _text().replace('escalation_thresholds = ["30min", "1h", "2h"]', 'escalation_thresholds = ["1h", "30min", "2h"]')
    broken = broken.replace('timezone = "Europe/Paris"', 'timezone = "Europe/Lyon"')
    response = admin_client.post(ADD, {"name": "hipcom", "text": broken, "comment": "", "confirmed": "on"},
                                 HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert "priorities.high.escalation_thresholds[1]: thresholds must strictly increase from one level" in page
    assert "organisation.timezone: unknown time zone “Europe/Lyon”" in page
    assert "croître" not in page and "fuseau" not in page
    assert PolicyVersion.objects.count() == 1


def test_a_valid_edit_shows_the_diff_then_saves_a_version_in_the_editors_name(admin_client, world):
    edited = _text().replace('take_charge = { target = "30min", clock = "24/7" }',
                             'take_charge = { target = "20min", clock = "24/7" }')
    first = admin_client.post(ADD, {"name": "hipcom", "text": edited.replace("\n", "\r\n"), "comment": "plus rapide"})
    page = first.content.decode()
    assert first.status_code == 200 and "cochez la confirmation" in page
    assert '-take_charge = { target = &quot;30min&quot;' in page and '+take_charge = { target = &quot;20min&quot;' in page
    assert PolicyVersion.objects.count() == 1
    second = admin_client.post(ADD, {"name": "hipcom", "text": edited, "comment": "plus rapide", "confirmed": "on"})
    assert second.status_code == 302
    version = PolicyVersion.objects.get(name="hipcom", number=2)
    assert version.created_by == world.users["admin"] and version.comment == "plus rapide"
    assert version.text == edited  # the browser's CRLF is not what is stored


def test_a_version_can_be_neither_changed_nor_deleted_in_the_admin(admin_client):
    version = PolicyVersion.objects.get()
    change = admin_client.post(f"/admin/policies/policyversion/{version.pk}/change/", {"text": "x"})
    assert change.status_code == 403
    assert admin_client.post(f"/admin/policies/policyversion/{version.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PolicyVersion.objects.get().text == version.text


def test_contacts_edited_in_the_form_make_a_new_version_the_old_incident_then_calls(admin_client, paris_noon):
    incident = upsert_incident(IncidentInput(request_number="REQ-1042", customer="client-a", priority="high",
                                             opened_at=paris_noon - timedelta(hours=2)),
                               user=None, channel=Channel.API, now=paris_noon)[0]
    version = PolicyVersion.objects.get()
    url = f"/admin/policies/policyversion/{version.pk}/contacts/"
    page = admin_client.get(url).content.decode()
    assert "Guillaume MASUIT" in page
    total = int(re.search(r'name="form-TOTAL_FORMS" value="(\d+)"', page).group(1))
    data = {"form-TOTAL_FORMS": str(total), "form-INITIAL_FORMS": str(total - 1), "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000", f"form-{total - 1}-track": "all"}  # the blank extra form, as sent
    for i, contact in enumerate(store.parsed(store.latest()).contacts):
        name = "Hélène Director" if contact.level == 3 else contact.name
        email = "helene@hipcom.fr" if contact.level == 3 else contact.email
        data.update({f"form-{i}-level": str(contact.level), f"form-{i}-track": contact.track, f"form-{i}-name": name,
                     f"form-{i}-role": contact.role, f"form-{i}-team": contact.team,
                     f"form-{i}-phones": ", ".join(contact.phones), f"form-{i}-email": email, f"form-{i}-apprise": ""})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["formset"].errors
    saved = PolicyVersion.objects.get(number=2)
    assert 'name = "Hélène Director"' in saved.text and "Guillaume MASUIT" not in saved.text
    assert saved.text.split("[[contacts]]")[0] == version.text.split("[[contacts]]")[0]  # the rest as it was
    incident.refresh_from_db()
    assert incident.policy_version == version  # commitments pinned, people current:
    assert [c.name for c in incident.policy.contacts_for(3, "support")] == ["Hélène Director"]


def test_a_contact_at_a_level_the_policy_lacks_is_refused_at_its_path(admin_client):
    version = PolicyVersion.objects.get()
    contacts = store.parsed(store.latest()).contacts
    data = {"form-TOTAL_FORMS": str(len(contacts)), "form-INITIAL_FORMS": str(len(contacts)),
            "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000"}
    for i, contact in enumerate(contacts):
        data.update({f"form-{i}-level": "7" if i == 0 else str(contact.level), f"form-{i}-track": contact.track,
                     f"form-{i}-name": contact.name, f"form-{i}-role": contact.role, f"form-{i}-team": contact.team,
                     f"form-{i}-phones": ", ".join(contact.phones), f"form-{i}-email": contact.email})
    response = admin_client.post(f"/admin/policies/policyversion/{version.pk}/contacts/", data)
    assert response.status_code == 200 and "contacts[0].level : niveau attendu : 1, 2 ou 3" in response.content.decode()
    assert PolicyVersion.objects.count() == 1
