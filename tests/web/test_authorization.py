"""Every page × every actor × read and write, generated from the URLconf: each URL pattern of the
site must have its row here, with the answer expected for anonymous, customer A, customer B, the
partner of A, a partner of no one, staff and admin. Out of scope is the unknown page (404); staff's
pages do not exist for customers and partners (404); anonymous goes to the login page (302).

World: REQ-1001 of customer A (partner P), breached, with a level-1 escalation; REQ-2001 of B.
"""

from __future__ import annotations

import html

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from escalade.notifications.tokens import ack_token

from .support import log_in

ACTORS = ("anonymous", "customer_a", "customer_b", "partner_a", "partner_none", "staff", "admin")
LOGINS = {"customer_a": ("cust-a", "pw-a-12345"), "customer_b": ("cust-b", "pw-b-12345"),
          "partner_a": ("part-p", "pw-p-12345"), "partner_none": ("part-x", "pw-x-12345"),
          "staff": ("staff", "pw-s-12345"), "admin": ("admin", "pw-adm-12345")}


def row(anonymous, a, b, partner_a, partner_none, staff, admin):
    return dict(zip(ACTORS, (anonymous, a, b, partner_a, partner_none, staff, admin), strict=True))


EVERYONE = row(302, 200, 200, 200, 200, 200, 200)
SEES_A = row(302, 200, 404, 200, 404, 200, 200)
STAFF = row(302, 404, 404, 404, 404, 200, 200)
PUBLIC = row(200, 200, 200, 200, 200, 200, 200)

# URL pattern: [(method, url, form data, expected per actor), …] — reads first, then writes.
MATRIX = {
    "": [("GET", "/", None, row(302, 302, 302, 302, 302, 302, 302))],
    "portail/": [("GET", "/portail/", None, EVERYONE)],
    "portail/incidents/<str:number>/": [("GET", "/portail/incidents/REQ-1001/", None, SEES_A)],
    "portail/incidents/<str:number>/maintenant/": [("GET", "/portail/incidents/REQ-1001/maintenant/", None, SEES_A)],
    "portail/incidents/<str:number>/escalader/": [
        ("GET", "/portail/incidents/REQ-1001/escalader/", None, row(302, 405, 405, 405, 405, 405, 405)),
        # Granted (or already granted): to the escalation's page.
        ("POST", "/portail/incidents/REQ-1001/escalader/", {"reason": "coupure", "level": "1"},
         row(302, 302, 404, 302, 404, 302, 302)),
    ],
    "escalades/<int:escalation_id>/": [("GET", "/escalades/{esc_a}/", None, SEES_A)],
    "escalades/<int:escalation_id>/prise-en-compte/": [
        ("POST", "/escalades/{esc_a}/prise-en-compte/", {}, row(302, 404, 404, 404, 404, 302, 302))],
    "incidents/<str:number>/": [("GET", "/incidents/REQ-1001/", None, SEES_A)],
    "incidents/<str:number>/dossier/": [("GET", "/incidents/REQ-1001/dossier/", None, SEES_A)],
    "incidents/<str:number>/evenement/": [
        ("GET", "/incidents/REQ-1001/evenement/", None, row(302, 404, 404, 404, 404, 405, 405)),
        ("POST", "/incidents/REQ-1001/evenement/", {"kind": "acknowledge"}, row(302, 404, 404, 404, 404, 302, 302)),
    ],
    "tableau-de-bord/": [("GET", "/tableau-de-bord/", None, STAFF)],
    "tableau-de-bord/escalades/": [("GET", "/tableau-de-bord/escalades/", None, STAFF)],
    "tableau-de-bord/incidents/": [("GET", "/tableau-de-bord/incidents/", None, STAFF)],
    "tableau-de-bord/telephone/": [
        ("POST", "/tableau-de-bord/telephone/",
         {"request_number": "REQ-2001", "caller": "Paul Martin, client B", "reason": "appel", "level": "1"},
         row(302, 404, 404, 404, 404, 302, 302))],
    "mail/confirmer/<str:token>/": [
        ("GET", "/mail/confirmer/{mail_a}/", None, PUBLIC),  # the signed link is the authority
        ("GET", "/mail/confirmer/forged-token/", None, row(404, 404, 404, 404, 404, 404, 404)),
        ("POST", "/mail/confirmer/{mail_a}/", {}, PUBLIC),
    ],
    "ack/<str:token>/": [
        ("GET", "/ack/{ack_a}/", None, PUBLIC),  # the signed link is the authority, with or without a login
        ("GET", "/ack/forged-token/", None, row(404, 404, 404, 404, 404, 404, 404)),
        ("POST", "/ack/{ack_a}/", {}, row(200, 200, 200, 200, 200, 200, 200)),
    ],
    "procedure/": [("GET", "/procedure/", None, PUBLIC)],
    "rapports/": [("GET", "/rapports/", None, STAFF)],
    "rapports.csv": [("GET", "/rapports.csv", None, STAFF)],
    "connexion/": [("GET", "/connexion/", None, row(200, 302, 302, 302, 302, 302, 302))],
    "deconnexion/": [("POST", "/deconnexion/", {}, row(302, 302, 302, 302, 302, 302, 302))],
    "mot-de-passe/": [("GET", "/mot-de-passe/", None, EVERYONE)],
    "mot-de-passe/modifie/": [("GET", "/mot-de-passe/modifie/", None, EVERYONE)],
    "langue/": [("POST", "/langue/setlang/", {"language": "en", "next": "/procedure/"},
                 row(302, 302, 302, 302, 302, 302, 302))],
    # For probes and Prometheus: no worker runs in this world, so health is 503 for everyone.
    "healthz": [("GET", "/healthz", None, row(503, 503, 503, 503, 503, 503, 503))],
    "metrics": [("GET", "/metrics", None, PUBLIC)],
    # The administration is the administrators' only (staff use the dashboard).
    "admin/": [("GET", "/admin/", None, row(302, 302, 302, 302, 302, 302, 200)),
               ("GET", "/admin/incidents/incident/", None, row(302, 302, 302, 302, 302, 302, 200))],
}


def patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            route = prefix + str(entry.pattern)
            if route == "admin/" or route.startswith("api/"):
                yield route  # the admin and the API have their own matrices; one row stands for all
                continue
            yield from patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def test_every_page_of_the_site_has_its_row():
    routes = {r for r in patterns() if not r.startswith("api/")}
    routes = {"langue/" if r.startswith("langue/") else r for r in routes}
    assert routes == set(MATRIX)


@pytest.fixture
def scene(incidents):
    from django.utils import timezone

    from escalade.accounts.models import User
    from escalade.escalations.services import request_escalation
    from escalade.mail.models import Decision, InboundMessage
    from escalade.mail.services import confirmation_token

    outcome = request_escalation(user=None, request_number="REQ-1001", reason="auto", now=timezone.now())
    escalation = outcome.escalation
    inbound = InboundMessage.objects.create(
        message_id="<unverified@client-a.fr>", source="pipe", received_at=timezone.now(), sender="a@client-a.fr",
        subject="REQ-1001", user=User.objects.get(username="cust-a"), request_number="REQ-1001", reason="coupure",
        decision=Decision.AWAITING_CONFIRMATION)
    return {"esc_a": escalation.pk, "ack_a": ack_token(escalation.pk, "Directeur HIPCOM", "directeur@hipcom.fr"),
            "mail_a": confirmation_token(inbound.pk)}


CELLS = [(route, i, actor) for route, calls in MATRIX.items() for i in range(len(calls)) for actor in ACTORS]


@pytest.mark.parametrize(("route", "i", "actor"), CELLS,
                         ids=[f"{MATRIX[r][i][0]} {MATRIX[r][i][1]} / {a}" for r, i, a in CELLS])
def test_page_authorization_matrix(scene, world, route, i, actor):
    from django.test import Client

    method, url, data, expected = MATRIX[route][i]
    client = Client()
    if actor != "anonymous":
        assert log_in(client, *LOGINS[actor])
    url = url.format(**scene)
    response = client.post(url, data or {}) if method == "POST" else client.get(url)
    assert response.status_code == expected[actor], (response.status_code, response.get("Location"))
    if response.status_code == 302 and actor == "anonymous" and route not in ("", "connexion/", "deconnexion/",
                                                                             "langue/"):
        assert response["Location"].startswith(("/connexion/", "/admin/login/"))
    if response.status_code == 404:  # a page that says so in French, never Django's bare 404
        text = html.unescape(response.content.decode())
        assert any(say in text for say in ("Aucun incident ne porte", "n'existe pas ou ne vous est pas accessible",
                                           "Ce lien n'est pas valide", "Ce lien de confirmation est invalide")), text[:300]
