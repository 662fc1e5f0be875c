"""The administration speaks French (and English from the same catalogue): every field, model and
application has a label, every row a name, and the priority and track filters use the policy's own
labels (never "high", "ACCOUNTS", "Next reminder at" or "EscalationRequest object (21)")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from web.support import log_in, make_incident

# Field names whose French label is the same word.
SAME_IN_FRENCH = {"code", "incident", "source", "description", "notification"}


def _our_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m.__module__.startswith("escalade.")]


def test_every_field_of_every_model_has_a_label() -> None:
    unlabelled = [
        f"{model._meta.label}.{field.name}"
        for model in _our_models()
        for field in model._meta.get_fields()
        if getattr(field, "concrete", False) and not field.auto_created
        and str(field.verbose_name) == field.name.replace("_", " ") and field.name not in SAME_IN_FRENCH
    ]
    assert unlabelled == []


def test_every_model_and_application_has_a_french_name() -> None:
    for model in _our_models():
        assert model.__str__ is not models.Model.__str__, model._meta.label
        assert str(model._meta.verbose_name) != model._meta.model_name or model._meta.model_name in SAME_IN_FRENCH
    labels = {config.label: str(config.verbose_name) for config in apps.get_app_configs()
              if config.name.startswith("escalade.")}
    assert labels["accounts"] == "Comptes" and labels["escalations"] == "Escalades" and labels["ops"] == "Exploitation"


@pytest.mark.django_db
def test_the_incident_list_filters_by_the_policys_priority_labels(world) -> None:
    make_incident("REQ-1001", "client-a", "high", timedelta(minutes=65))
    client = Client(SERVER_NAME="localhost")
    assert log_in(client, "admin", "pw-adm-12345")
    page = client.get("/admin/incidents/incident/").content.decode()
    assert "?priority=high" in page and ">élevé</a>" in page and ">priorité</a>" in page.lower()
    assert "<td class=\"field-priority_label\">élevé</td>" in page
    filtered = client.get("/admin/incidents/incident/", {"priority": "low"}).content.decode()
    assert "REQ-1001" not in filtered
    request = client.get("/admin/escalations/escalationrequest/").content.decode()
    assert "object (" not in request
