"""`escalade customers|partners add`, `escalade check REQ`, `escalade demo`."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import CommandError

from escalade.accounts.models import ApiToken, User
from escalade.escalations.models import Escalation
from escalade.incidents.models import Customer, Incident, Partner, TimelineEvent

from .support import run

pytestmark = pytest.mark.django_db


def test_partners_and_customers_add(db):
    assert "Partenaire « telco » créé" in run("partners", "add", "telco", "Telco Partenaire")
    out = run("customers", "add", "acme", "ACME Industries", "--partner", "telco", "--gtr")
    assert "Client « acme » créé (GTR oui, géré par « telco »)" in out
    acme = Customer.objects.get(code="acme")
    assert acme.partner == Partner.objects.get(code="telco") and acme.gtr is True
    run("customers", "add", "globex", "Globex")
    assert Customer.objects.get(code="globex").gtr is False


@pytest.mark.parametrize(("args", "message"), [
    (("customers", "add", "acme", "ACME", "--partner", "inconnu"), "Aucun partenaire"),
    (("customers", "add", "Pas Un Code", "ACME"), "Code invalide"),
    (("partners", "add", "partenaire-p", "Doublon"), "existe déjà"),
])
def test_inconsistent_organisations_are_refused(world, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.fixture
def incident(world, paris_noon):
    from escalade.incidents.models import Channel
    from escalade.incidents.services import IncidentInput, upsert_incident

    data = IncidentInput(request_number="REQ-1042", customer="client-a", priority="high",
                         opened_at=paris_noon - timedelta(minutes=45), title="Coupure fibre")
    return upsert_incident(data, user=None, channel=Channel.API, now=paris_noon)[0]


def test_check_explains_an_incident_in_french(incident):
    out = run("check", "REQ-1042", "--at", "2026-11-27T12:45:00+01:00")
    assert "Incident REQ-1042 — Coupure fibre" in out
    assert "Client : Client A (client-a), géré par Partenaire P" in out
    assert "Prise en charge : 30 mn (24/7) — échéance 27/11/2026 à 11:45 — dépassé — dépassement 1 h" in out
    assert "Résolution : 4 h (24/7) — échéance 27/11/2026 à 15:15 — en cours" in out
    assert "Escalade : possible, niveau 2" in out
    assert "Niveau 2 — Vincent BLUSSEAU (Responsable d'Exploitation) — +33456406074 · +33695436826" in out


def test_check_says_when_escalation_becomes_possible(incident):
    out = run("check", "REQ-1042", "--at", "2026-11-27T11:50:00+01:00")
    assert "Escalade : impossible" in out
    assert "Possible à partir du 27/11/2026 à 12:15" in out


def test_check_of_an_unknown_number_fails(db):
    with pytest.raises(CommandError, match="Aucun incident ne porte le numéro de requête « REQ-9 »"):
        run("check", "REQ-9")


def test_check_without_a_number_is_still_djangos_system_check(db):
    assert "no issues" in run("check")


def test_check_exits_1_for_an_unknown_number_from_the_command_line(tmp_path):
    env = {"ESCALADE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "ESCALADE_DATA_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin", "ESCALADE_DEV": "1"}
    subprocess.run([sys.executable, "-m", "escalade", "migrate", "-v0"], env=env, check=True)
    result = subprocess.run([sys.executable, "-m", "escalade", "check", "REQ-404404"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "Aucun incident ne porte le numéro de requête « REQ-404404 »" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_creates_every_state_and_is_idempotent(db):
    out = run("demo")
    assert "esc_demo_client_acme_2026" in out and "demo-client-acme" in out
    counts = (Incident.objects.count(), User.objects.count(), ApiToken.objects.count(),
              Escalation.objects.count(), TimelineEvent.objects.count())
    assert counts[0] >= 60 and counts[3] >= 5
    assert "escalade serve --with-worker --port 8000    puis http://127.0.0.1:8000/" in out
    assert "/escalade check REQ-1005" in out or "\n  .venv/bin/escalade check REQ-1005" in out
    again = run("demo", "--port", "8765")
    assert "déjà présents" in again
    assert "http://127.0.0.1:8765/api/v1/incidents/REQ-1003" in again
    assert (Incident.objects.count(), User.objects.count(), ApiToken.objects.count(),
            Escalation.objects.count(), TimelineEvent.objects.count()) == counts
    states = {i.request_number: i for i in Incident.objects.filter(request_number__lt="REQ-2000")}
    assert {i.status for i in states.values()} == {"open", "acknowledged", "paused", "resolved"}
    assert {i.allowed_level for i in states.values()} >= {0, 1, 2, 3}
    assert states["REQ-1007"].priority == "low"
    assert states["REQ-1011"].resolution_due_at is None  # high without GTR
    assert states["REQ-1012"].track == "production"
    assert states["REQ-1006"].escalations.get().acknowledged_at is not None
    assert states["REQ-1010"].resolution_state == "missed" and states["REQ-1009"].resolution_state == "met"
    assert not Incident.objects.filter(opened_at__gt=states["REQ-1001"].opened_at).exists()


def test_demo_tokens_authenticate(db, client):
    run("demo")
    response = client.get("/api/v1/incidents/REQ-1003", HTTP_AUTHORIZATION="Bearer esc_demo_client_acme_2026")
    assert response.status_code == 200
    assert response.json()["evaluation"]["escalation"]["level"] == 1
    hidden = client.get("/api/v1/incidents/REQ-1003", HTTP_AUTHORIZATION="Bearer esc_demo_client_globex_2026")
    assert hidden.status_code == 404


@pytest.mark.django_db(transaction=True)  # the reset erases the database, outside any transaction
def test_demo_reset_recreates_the_incidents():
    run("demo")
    assert "incidents de démonstration créés" in run("demo", "--reset")
    assert Incident.objects.filter(request_number="REQ-1001").count() == 1
