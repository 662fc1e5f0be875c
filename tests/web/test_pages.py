"""Every page for every role: anonymous → login, out of scope → the unknown page (404), HIPCOM's
pages → 404 for customers and partners (they do not exist for them)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from .support import log_in, make_incident

ROLES = ["customer_a", "customer_b", "partner_a", "partner_none", "staff", "admin"]
SEES_A = {"customer_a", "partner_a", "staff", "admin"}
INTERNAL = {"staff", "admin"}

A_PAGES = ["/portail/incidents/REQ-1001/", "/incidents/REQ-1001/", "/incidents/REQ-1004/",
           "/incidents/REQ-1001/dossier/"]
STAFF_PAGES = ["/tableau-de-bord/", "/tableau-de-bord/escalades/", "/tableau-de-bord/incidents/",
               "/rapports/", "/rapports.csv"]
OWN_PAGES = ["/portail/", "/mot-de-passe/"]


def main(response) -> str:
    """The page's own content (the CSRF token and the server time around it change per request)."""
    page = response.content.decode()
    return page[page.index("<main"):page.index("</main>")]


@pytest.mark.parametrize("url", [*A_PAGES, *STAFF_PAGES, *OWN_PAGES, "/", "/escalades/1/"])
def test_anonymous_is_sent_to_the_login_page(incidents, login, url):
    response = login(None).get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/connexion/")


def test_the_procedure_is_public_and_generated_from_the_policy(incidents, login):
    from escalade.core.render import procedure_html_body
    from escalade.policies import file_policy

    response = login(None).get("/procedure/")
    assert response.status_code == 200
    assert procedure_html_body(file_policy()) in response.content.decode()
    assert "04 26 78 10 67" in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_home_sends_customers_and_partners_to_the_portal_and_staff_to_the_dashboard(incidents, login, role):
    response = login(role).get("/")
    assert response["Location"] == ("/tableau-de-bord/" if role in INTERNAL else "/portail/")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", A_PAGES)
def test_incident_pages_are_seen_in_scope_and_look_unknown_out_of_scope(incidents, login, role, url):
    response = login(role).get(url)
    if role in SEES_A:
        assert response.status_code == 200
        assert "REQ-100" in response.content.decode()
    else:
        assert response.status_code == 404
        assert "Aucun incident ne porte le numéro de requête" in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", STAFF_PAGES)
def test_staff_pages_do_not_exist_for_customers_and_partners(incidents, login, role, url):
    response = login(role).get(url)
    assert response.status_code == (200 if role in INTERNAL else 404)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", OWN_PAGES)
def test_own_pages_open_for_everyone_logged_in(incidents, login, role, url):
    assert login(role).get(url).status_code == 200


def test_out_of_scope_number_is_the_same_page_as_an_unknown_one(incidents, login):
    client = login("customer_b")
    theirs = client.get("/portail/?request_number=REQ-1001")
    unknown = client.get("/portail/?request_number=REQ-9999")
    assert theirs.status_code == unknown.status_code == 404
    assert main(theirs).replace("REQ-1001", "N") == main(unknown).replace("REQ-9999", "N")


@pytest.mark.parametrize("typed", ["REQ-1001", "req-1001", "REQ 1001", " req - 1001 ", "1001", "Req-1001"])
def test_the_number_is_found_whatever_its_case_spaces_or_missing_prefix(incidents, login, typed):
    response = login("customer_a").get("/portail/", {"request_number": typed})
    assert response.status_code == 302
    assert response["Location"] == "/portail/incidents/REQ-1001/"


@pytest.mark.parametrize(("number", "typed"), [
    ("1042", "1042"), ("10010", " 10010 "), ("1042", "0001042"),  # GLPI, Zammad; GLPI pads its ids
    ("I-000123", "i-000123"), ("INC0010001", "inc 0010001"), ("SUP-123", "sup - 123"),  # iTop, ServiceNow, Jira
])
def test_the_shapes_other_helpdesks_give_are_found(incidents, login, number, typed):
    make_incident(number, "client-a", "medium", timedelta(minutes=20))
    response = login("customer_a").get("/portail/", {"request_number": typed})
    assert response.status_code == 302
    assert response["Location"] == f"/portail/incidents/{number}/"


def test_digits_alone_are_the_helpdesks_number_first_and_the_prefix_completes_them_otherwise(incidents, login):
    make_incident("1001", "client-a", "medium", timedelta(minutes=20))  # a GLPI ticket beside REQ-1001
    client = login("customer_a")
    assert client.get("/portail/", {"request_number": "1001"})["Location"] == "/portail/incidents/1001/"
    assert client.get("/portail/", {"request_number": "1002"})["Location"] == "/portail/incidents/REQ-1002/"


def test_a_phone_escalation_finds_the_number_the_caller_gives_without_its_prefix(incidents, login):
    from escalade.escalations.models import Escalation

    response = login("staff").post("/tableau-de-bord/telephone/", {
        "request_number": "2001", "caller": "M. Dupont, Client B", "reason": "Appel : VPN coupé"})
    assert response.status_code == 302
    assert Escalation.objects.get(incident__request_number="REQ-2001").channel == "phone"


def test_a_forgiven_number_of_someone_else_is_still_unknown(incidents, login):
    response = login("customer_b").get("/portail/", {"request_number": "req 1001"})
    assert response.status_code == 404
    assert "REQ-1001" in main(response)  # named as the procedure writes it


@pytest.mark.parametrize("typed, message", [
    ("", "Le numéro de requête de l&#x27;incident est obligatoire."),
    ("n'importe quoi", "n&#x27;est pas un numéro de requête valide (exemple : REQ-1042)"),
    ("REQ-1" + "0" * 80, "numéro de requête"),
])
def test_the_request_number_is_required_and_checked_against_the_policy(incidents, login, typed, message):
    response = login("customer_a").get("/portail/", {"request_number": typed})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_card_shows_commitments_level_and_contacts_with_links(incidents, login):
    page = login("partner_a").get("/portail/incidents/REQ-1001/").content.decode()
    assert "Escalade possible : niveau 1" in page
    assert 'href="tel:+33426781067"' in page and 'href="mailto:escalade@hipcom.fr"' in page
    assert "Le niveau 2 sera ouvert le" in page and "Le niveau 2 s&#x27;ouvre dans" not in page
    assert "Le niveau 2 s'ouvre dans 2" in page  # 35 mn past take-charge: level 2 (1 h) opens in 25 mn
    assert 'role="timer"' in page and "data-due=" in page


def test_a_card_that_can_never_be_escalated_says_so_and_gives_the_general_line(incidents, login):
    import re

    client = login("customer_a")
    low = client.get("/portail/incidents/REQ-1004/").content.decode()
    assert "Escalade impossible" in low and "Escalade pas encore possible" not in low
    assert re.search(r'Pour toute question, appelez le Service Support : <a href="tel:\+33426781067"', low)
    assert 'id="esc-title"' not in low
    running = client.get("/portail/incidents/REQ-1002/").content.decode()  # medium, opened 20 mn ago
    assert "Escalade pas encore possible" in running
    # take-charge due in 1 h 40, level 1 one hour after it: in 2 h 39 or 2 h 40 as the seconds go
    assert re.search(r"Le niveau 1 s'ouvre dans 2 h (39|40)\.", running)


def test_after_an_escalation_the_card_shows_it_and_offers_only_a_higher_level(incidents, login):
    client = login("customer_a")
    assert client.post("/portail/incidents/REQ-1001/escalader/", {"reason": "Site coupé"}).status_code == 302
    page = client.get("/portail/incidents/REQ-1001/").content.decode()
    assert "Le niveau 1 est déjà escaladé." in page and "Vous pourrez escalader au niveau 2 à partir du" in page
    assert 'id="esc-title"' not in page  # no form until level 2 opens
    assert "Escalades déjà faites" in page


def test_a_paused_card_says_since_when_and_what_resumes_the_clock(incidents, login):
    from django.utils import timezone

    from escalade.incidents.services import apply_event

    apply_event(incidents["running"], "pause", user=None, channel="api", now=timezone.now())
    page = login("customer_a").get("/portail/incidents/REQ-1002/").content.decode()
    assert "En attente de votre réponse depuis le" in page and "le délai reprend dès votre réponse" in page


def test_a_partner_lists_its_customers_incidents_only(incidents, login):
    page = login("partner_a").get("/portail/").content.decode()
    assert "REQ-1001" in page and "REQ-2001" not in page
    assert "REQ-2001" in login("customer_b").get("/portail/").content.decode()


def test_escalating_shows_the_confirmation_with_the_escalation_number(incidents, login):
    client = login("customer_a")
    response = client.post("/portail/incidents/REQ-1001/escalader/", {"reason": "Coupure totale"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Escalade ESC-" in page and "enregistrée" in page and "Support Technique" in page
    again = client.post("/portail/incidents/REQ-1001/escalader/", {"reason": "Toujours coupé"})
    assert again["Location"] == response["Location"]


def test_a_refused_escalation_shows_the_french_message(incidents, login):
    response = login("customer_a").post("/portail/incidents/REQ-1002/escalader/", {"reason": "Vite"})
    assert response.status_code == 409
    assert "Aucun engagement de délai n&#x27;est dépassé" in response.content.decode()


def test_escalating_needs_a_reason_and_a_level_not_above_the_allowed_one(incidents, login):
    client = login("customer_a")
    assert client.post("/portail/incidents/REQ-1001/escalader/", {"reason": " "}).status_code == 400
    assert client.post("/portail/incidents/REQ-1001/escalader/", {"reason": "x", "level": "3"}).status_code == 400
    assert client.post("/portail/incidents/REQ-1001/escalader/", {"reason": "x", "level": "zz"}).status_code == 400


def test_escalating_someone_elses_incident_is_not_found(incidents, login):
    response = login("customer_b").post("/portail/incidents/REQ-1001/escalader/", {"reason": "x"})
    assert response.status_code == 404


def test_posting_without_csrf_is_refused(incidents, world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    log_in(client, "cust-a", "pw-a-12345")
    assert client.post("/portail/incidents/REQ-1001/escalader/", {"reason": "x"}).status_code == 403


def test_staff_records_a_phone_escalation_on_a_customers_behalf(incidents, login):
    from escalade.escalations.models import Escalation

    client = login("staff")
    response = client.post("/tableau-de-bord/telephone/", {
        "request_number": "REQ-2001", "caller": "M. Dupont, Client B", "reason": "Appel : VPN coupé",
    })
    assert response.status_code == 302
    escalation = Escalation.objects.get(incident__request_number="REQ-2001")
    assert escalation.channel == "phone" and "M. Dupont" in escalation.requester_label
    assert client.post("/tableau-de-bord/telephone/", {"request_number": "", "caller": "", "reason": ""}).status_code == 400
    assert client.post("/tableau-de-bord/telephone/", {
        "request_number": "REQ-9999", "caller": "x", "reason": "y"}).status_code == 404


def test_a_phone_call_for_an_incident_not_yet_eligible_keeps_the_operators_work_and_is_recorded(incidents, login):
    from escalade.escalations.models import EscalationRequest

    client = login("staff")
    response = client.post("/tableau-de-bord/telephone/", {  # REQ-1002: medium, 20 mn old, 2 h to take charge
        "request_number": "req 1002", "caller": "Mme Durand, Client A", "reason": "Le VPN tombe toutes les heures"})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'value="Mme Durand, Client A"' in page and "\nLe VPN tombe toutes les heures</textarea>" in page
    assert "Aucun engagement de délai n&#x27;est dépassé" in page
    assert "L'appel refusé est enregistré dans l'historique de l'incident REQ-1002." in page
    assert 'action="/tableau-de-bord/telephone/#phone-title"' in page
    refused = EscalationRequest.objects.get(incident__request_number="REQ-1002")
    assert refused.outcome == "refused" and refused.channel == "phone" and "Mme Durand" in refused.requester_label


def test_a_phone_form_with_a_missing_field_keeps_the_others_and_focuses_the_first_error(incidents, login):
    response = login("staff").post("/tableau-de-bord/telephone/", {
        "request_number": "REQ-1001", "caller": "", "reason": "Coupure totale"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="REQ-1001"' in page and "\nCoupure totale</textarea>" in page
    caller = page[page.index('name="caller"') - 200:page.index('name="caller"') + 200]
    assert "autofocus" in caller and page.count("autofocus") == 1
    assert '<option value="3">niveau 3</option>' in page  # the policy's levels


def test_customers_cannot_record_phone_escalations_or_acknowledge(incidents, login):
    client = login("customer_a")
    assert client.post("/tableau-de-bord/telephone/", {"request_number": "REQ-1001", "caller": "x",
                                                       "reason": "y"}).status_code == 404
    client.post("/portail/incidents/REQ-1001/escalader/", {"reason": "x"})
    from escalade.escalations.models import Escalation

    escalation = Escalation.objects.get()
    assert client.post(f"/escalades/{escalation.pk}/prise-en-compte/").status_code == 404
    escalation.refresh_from_db()
    assert escalation.acknowledged_at is None


def test_the_feed_lists_escalations_and_acknowledging_updates_it(incidents, login):
    login("customer_a").post("/portail/incidents/REQ-1001/escalader/", {"reason": "x"})
    from escalade.escalations.models import Escalation

    escalation = Escalation.objects.get()
    staff = login("staff")
    feed = staff.get("/tableau-de-bord/escalades/").content.decode()
    assert escalation.number in feed and "Prendre en compte" in feed
    response = staff.post(f"/escalades/{escalation.pk}/prise-en-compte/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Prise en compte (" in response.content.decode()
    assert staff.post("/escalades/999999/prise-en-compte/").status_code == 404


def test_the_feed_reads_its_escalations_through_their_own_indexes(incidents, login, plan_indexes):
    """Pending ones oldest first, acknowledged ones latest first: each read by an index that holds
    only them, whatever the history of acknowledged escalations (PostgreSQL's plan)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    staff = login("staff")
    with CaptureQueriesContext(connection) as statements:
        assert staff.get("/tableau-de-bord/escalades/").status_code == 200
    feed = [q["sql"] for q in statements.captured_queries if q["sql"].startswith('SELECT "escalations_escalation"')]
    assert len(feed) == 2

    used = [plan_indexes(sql, seqscan=False) for sql in feed]  # tables this small would be read whole
    assert "escalation_pending" in used[0] and "escalation_acknowledged" in used[1], used


def test_the_dashboard_triage_is_the_procedures_acknowledgements_then_priority_and_level(incidents, login):
    """A low-priority question breached for days no longer sits above a high-priority outage: an
    escalation waiting for acknowledgement first, then the priority (the shortest take-charge
    target) and the open level, then the nearest deadline."""
    from django.utils import timezone

    from escalade.escalations.services import acknowledge_escalation, request_escalation

    staff = login("staff")
    page = staff.get("/tableau-de-bord/").content.decode()
    order = ["REQ-1001", "REQ-2001", "REQ-1002", "REQ-1004"]  # high L1, medium L1, medium, low
    assert [page.index(f">{n}<") for n in order] == sorted(page.index(f">{n}<") for n in order)
    outcome = request_escalation(user=None, request_number="REQ-2001", reason="VPN coupé", now=timezone.now())
    page = staff.get("/tableau-de-bord/").content.decode()
    order = ["REQ-2001", "REQ-1001", "REQ-1002", "REQ-1004"]  # the escalation to acknowledge first
    assert [page.index(f">{n}<") for n in order] == sorted(page.index(f">{n}<") for n in order)
    acknowledge_escalation(user=None, escalation_id=outcome.escalation.pk, now=timezone.now(), on_behalf_of="x")
    page = staff.get("/tableau-de-bord/").content.decode()
    assert page.index(">REQ-1001<") < page.index(">REQ-2001<")
    assert "REQ-1003" not in page  # resolved


@pytest.mark.parametrize("query, shown, hidden", [
    ({"customer": "client-b"}, ["REQ-2001"], ["REQ-1001"]),
    ({"priority": "high"}, ["REQ-1001"], ["REQ-1002", "REQ-2001"]),
    ({"state": "running"}, ["REQ-1002"], ["REQ-1001"]),
    ({"state": "breached"}, ["REQ-1001", "REQ-2001"], ["REQ-1002"]),
    ({"track": "production"}, [], ["REQ-1001"]),
    ({"priority": "nonsense", "state": "<script>"}, ["REQ-1001"], []),
])
def test_dashboard_filters(incidents, login, query, shown, hidden):
    response = login("staff").get("/tableau-de-bord/", query)
    assert response.status_code == 200
    page = response.content.decode()
    for number in shown:
        assert f">{number}<" in page
    for number in hidden:
        assert f">{number}<" not in page


def test_the_dashboard_pages_its_open_incidents_most_urgent_first_keeping_the_filters(incidents, login):
    import re

    from escalade.web.views import DASHBOARD_ROWS

    for n in range(DASHBOARD_ROWS + 5):  # medium, 20 mn old: the least urgent of the scene
        make_incident(f"REQ-3{n:03d}", "client-b", "medium", timedelta(minutes=20))
    client = login("staff")
    first = client.get("/tableau-de-bord/", {"customer": "client-b"}).content.decode()
    rows = re.findall(r'<a href="/incidents/(REQ-\d+)/">', first)
    assert len(rows) == DASHBOARD_ROWS and rows[0] == "REQ-2001"  # breached first
    assert f"Incidents 1 à {DASHBOARD_ROWS} sur {DASHBOARD_ROWS + 6}" in first
    assert '<a href="?customer=client-b&amp;page=2" rel="next">' in first and 'rel="prev"' not in first
    second = client.get("/tableau-de-bord/", {"customer": "client-b", "page": "2"}).content.decode()
    assert len(re.findall(r'<a href="/incidents/(REQ-\d+)/">', second)) == 6
    assert f"Incidents {DASHBOARD_ROWS + 1} à {DASHBOARD_ROWS + 6}" in second and 'rel="prev"' in second
    # the live refresh keeps the page; a page out of range or not a number is the nearest one
    assert "page=2" in re.search(r'<tbody id="rows" hx-get="([^"]+)"', second).group(1)
    assert client.get("/tableau-de-bord/", {"page": "99"}).status_code == 200
    assert client.get("/tableau-de-bord/", {"page": "deux"}).status_code == 200


def test_beyond_the_exact_bound_the_dashboard_gives_postgresqls_estimate_as_such(incidents, login, monkeypatch):
    """Counting 200,000 open incidents exactly read them all: above the bound the count is the
    planner's estimate, said as one; the embedded database has none and counts."""
    from django.db import connection

    from escalade import bulk

    for n in range(6):
        make_incident(f"REQ-3{n:03d}", "client-b", "medium", timedelta(minutes=20))
    client = login("staff")
    monkeypatch.setattr(bulk, "EXACT_UP_TO", 3)
    page = client.get("/tableau-de-bord/", {"customer": "client-b"}).content.decode()
    if connection.vendor == "postgresql":
        assert re.search(r"Environ \d+ incidents ouverts", page)
    else:
        assert "7 incidents ouverts" in page and "Environ" not in page
    monkeypatch.setattr(bulk, "EXACT_UP_TO", 10)
    page = client.get("/tableau-de-bord/", {"customer": "client-b"}).content.decode()
    assert "7 incidents ouverts" in page and "Environ" not in page


def test_the_incident_page_explains_a_business_time_deadline(incidents, login):
    page = login("staff").get("/incidents/REQ-1004/").content.decode()
    assert "Pourquoi cette échéance" in page and "09:00–" in page
    assert "Chronologie" in page and "incident créé" in page


def test_the_english_switch(incidents, login):
    client = login("customer_a")
    response = client.post("/langue/setlang/", {"language": "en", "next": "/portail/"})
    assert response.status_code == 302
    page = client.get("/portail/").content.decode()
    assert '<html lang="en">' in page and "Escalate an incident" in page


def test_unknown_pages_and_wrong_methods_are_not_500(incidents, login):
    client = login("staff")
    assert client.get("/escalades/999999/").status_code == 404
    assert client.get("/portail/incidents/%00/").status_code == 404
    assert client.get("/portail/incidents/REQ-1001/escalader/").status_code == 405
    assert client.get("/rapports/", {"months": "abc"}).status_code == 200


def test_login_logout_and_password_change(incidents, login):
    from django.test import Client

    client = Client()
    page = client.get("/connexion/").content.decode()
    assert '<label for="id_username">Identifiant</label>' in page
    wrong = client.post("/connexion/", {"username": "cust-a", "password": "nope"})
    assert wrong.status_code == 200 and "Identifiant ou mot de passe incorrect." in wrong.content.decode()
    right = client.post("/connexion/", {"username": "cust-a", "password": "pw-a-12345"})
    assert right["Location"] == "/"
    changed = client.post("/mot-de-passe/", {"old_password": "pw-a-12345", "new_password1": "Nouveau-mdp-2026",
                                             "new_password2": "Nouveau-mdp-2026"})
    assert changed["Location"] == "/mot-de-passe/modifie/"
    assert client.get(changed["Location"]).status_code == 200
    assert client.post("/deconnexion/")["Location"] == "/connexion/"
    assert client.get("/portail/").status_code == 302
    assert log_in(Client(), "cust-a", "Nouveau-mdp-2026")


def test_the_dashboard_and_its_feed_show_an_escalation_acknowledged_from_the_email_link(incidents, login):
    """The one-click link acknowledges with no account behind it: the feed names the recipient
    (it answered 500 while looking up the missing account's username)."""
    from escalade.escalations.models import Escalation
    from escalade.notifications.tokens import ack_token

    login("customer_a").post("/portail/incidents/REQ-1001/escalader/", {"reason": "Site coupé"})
    staff = login("staff")

    escalation = Escalation.objects.get(incident__request_number="REQ-1001")
    token = ack_token(escalation.pk, "Adrien Bourdon", "adrien@hipcom.fr")
    assert login(None).post(f"/ack/{token}/").status_code == 200
    escalation.refresh_from_db()
    assert escalation.acknowledged_by is None and "Adrien Bourdon" in escalation.acknowledged_label
    from escalade.incidents.models import EventKind, TimelineEvent

    event = TimelineEvent.objects.get(kind=EventKind.ESCALATION_ACKNOWLEDGED)
    assert event.actor_label == "Adrien Bourdon <adrien@hipcom.fr>"  # the recipient, not "Escalade pour …"

    for url in ("/tableau-de-bord/", "/tableau-de-bord/escalades/"):
        page = staff.get(url)
        assert page.status_code == 200, url
        assert "Adrien Bourdon" in page.content.decode(), url
    api = staff.get(f"/api/v1/escalations/{escalation.pk}")
    assert api.status_code == 200 and "Adrien Bourdon" in api.json()["acknowledged_by"]


def test_a_server_error_is_logged_with_its_traceback(incidents, login, monkeypatch, caplog):
    """Every 500 reaches the log with its traceback, not only the access line."""
    from django.test import Client

    from escalade.web import views

    def broken(*args, **kwargs):
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(views.present, "card", broken)
    client = Client(raise_request_exception=False)
    assert log_in(client, "staff", "pw-s-12345")
    with caplog.at_level("ERROR", logger="django.request"):
        assert client.get("/incidents/REQ-1001/").status_code == 500
    [entry] = [r for r in caplog.records if r.name == "django.request"]
    assert entry.exc_info is not None and "panne simulée" in str(entry.exc_info[1])
    # …and a handler of the configuration writes it out (Django's default one is DEBUG-only).
    import logging

    writers = [h for h in logging.getLogger("django.request").handlers
               if h not in (caplog.handler,) and h.level <= logging.ERROR and h.filter(entry)]
    assert writers, "no handler writes django.request errors"


def test_a_page_whose_write_the_database_refuses_is_a_503_not_a_500(incidents, login):
    from django.db import connection

    from escalade.escalations.models import EscalationRequest

    if connection.vendor != "sqlite":
        import pytest

        pytest.skip("read-only switch shown on SQLite (PRAGMA query_only)")
    client = login("customer_a")
    assert client.get("/portail/incidents/REQ-1001/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA query_only = ON")
    try:
        response = client.post("/portail/incidents/REQ-1001/escalader/", {"reason": "Coupure"})
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only = OFF")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert "indisponible" in response.content.decode() and EscalationRequest.objects.count() == 0


def test_the_printable_record_shows_the_timeline_with_its_chain(incidents, login):
    from escalade.incidents.models import Incident

    page = login("customer_a").get("/incidents/REQ-1001/dossier/").content.decode()
    head = Incident.objects.get(request_number="REQ-1001").timeline.order_by("id").last().hash
    assert "Dossier de l&#x27;incident REQ-1001" in page or "Dossier de l'incident REQ-1001" in page
    assert "Chaîne d&#x27;empreintes intacte" in page or "Chaîne d'empreintes intacte" in page
    assert head in page


def test_a_commitments_clock_follows_its_badge_without_repeating_it_in_the_cores_units(incidents, login):
    import re

    client = login("customer_a")
    breached = client.get("/portail/incidents/REQ-1001/").content.decode()  # opened 65 mn ago, 30 mn target
    assert re.search(r'data-late="\{\} de retard">3[45] mn \d\d s de retard</span>', breached)
    assert "dépassé dépassé" not in re.sub(r"<[^>]+>", " ", breached).replace("  ", " ")
    running = client.get("/portail/incidents/REQ-1002/").content.decode()  # medium: 2 h to take charge
    assert re.search(r">reste 1 h \d\d mn \d\d s</span>", running)
    resolved = client.get("/portail/incidents/REQ-1003/").content.decode()
    assert ">tenu<" not in resolved and "respecté</span>" in resolved  # the badge alone says it
    assert 'data-clock-units="j h mn s"' in breached


def test_once_level_1_is_escalated_the_form_offers_only_the_levels_above(incidents, login):
    from web.support import make_incident

    make_incident("REQ-1010", "client-a", "high", timedelta(minutes=95))  # 65 mn past take-charge: level 2 open
    client = login("customer_a")
    assert client.post("/portail/incidents/REQ-1010/escalader/", {"reason": "Coupure", "level": "1"}).status_code == 302
    page = client.get("/portail/incidents/REQ-1010/").content.decode()
    assert '<option value="2">niveau 2</option>' in page and '<option value="1">' not in page
    # the same level again (a page left open) is the existing escalation, not an error
    assert client.post("/portail/incidents/REQ-1010/escalader/", {"reason": "Coupure", "level": "1"}).status_code == 302


def test_the_feed_puts_escalations_to_acknowledge_apart_with_their_reason_and_the_director_standing_out(
        incidents, login):
    from django.utils import timezone

    from escalade.escalations.services import acknowledge_escalation, request_escalation
    from web.support import make_incident

    now = timezone.now()
    pending = request_escalation(user=None, request_number="REQ-2001", reason="VPN coupé depuis ce matin", now=now)
    make_incident("REQ-1020", "client-a", "high", timedelta(days=21))
    old = request_escalation(user=None, request_number="REQ-1020", reason="Site coupé", now=now - timedelta(days=20))
    acknowledge_escalation(user=None, escalation_id=old.escalation.pk, now=now - timedelta(days=20), on_behalf_of="x")
    page = login("staff").get("/tableau-de-bord/").content.decode()
    assert '<p class="strip strip-alert"><a href="#feed-title">À prendre en compte (1)</a></p>' in page
    assert "« VPN coupé depuis ce matin »" in page and f"esc-{pending.escalation.pk}" in page
    assert f'id="esc-{old.escalation.pk}"' not in page  # acknowledged weeks ago: history, not news
    assert "<th scope=\"col\">Niveau ouvert</th><th scope=\"col\">Niveau escaladé</th>" in page
    assert "top-level" not in page  # level 1 for a medium incident
    make_incident("REQ-1030", "client-a", "high", timedelta(hours=3))  # 2 h 30 past take-charge: level 3
    director = request_escalation(user=None, request_number="REQ-1030", reason="Tout est coupé", now=now)
    assert director.escalation.level == 3
    feed = login("staff").get("/tableau-de-bord/escalades/").content.decode()
    assert f'class="feed-item pending top-level" id="esc-{director.escalation.pk}"' in feed


def test_staff_record_the_incidents_events_from_its_page_in_their_name(incidents, login):
    from escalade.incidents.models import EventKind, Incident, TimelineEvent

    client = login("staff")
    page = client.get("/incidents/REQ-1001/").content.decode()
    for button in ("Prendre en charge", "Résoudre", "Mettre en attente client", "Changer la priorité"):
        assert f">{button}</button>" in page, button
    url = "/incidents/REQ-1001/evenement/"
    assert client.post(url, {"kind": "acknowledge"})["Location"] == "/incidents/REQ-1001/"
    assert client.post(url, {"kind": "pause"}).status_code == 302
    assert ">Reprendre (fin de l'attente client)</button>" in client.get("/incidents/REQ-1001/").content.decode()
    client.post(url, {"kind": "resume"})
    client.post(url, {"kind": "change_priority", "priority": "medium"})
    again = client.post(url, {"kind": "change_priority", "priority": "medium"}, follow=True).content.decode()
    assert "L&#x27;incident a déjà cette priorité." in again  # the service's refusal, said on the page
    client.post(url, {"kind": "resolve"})
    incident = Incident.objects.get(request_number="REQ-1001")
    assert incident.priority == "medium" and incident.acknowledged_at and incident.resolved_at
    kinds = list(TimelineEvent.objects.filter(incident=incident, actor__username="staff", channel="web")
                 .values_list("kind", flat=True))
    assert kinds == [EventKind.ACKNOWLEDGED, EventKind.PAUSED, EventKind.RESUMED, EventKind.PRIORITY_CHANGED,
                     EventKind.RESOLVED]
    assert ">Rouvrir</button>" in client.get("/incidents/REQ-1001/").content.decode()


def test_the_escalation_page_lets_staff_acknowledge_it(incidents, login):
    from django.utils import timezone

    from escalade.escalations.services import request_escalation

    escalation = request_escalation(user=None, request_number="REQ-1001", reason="x", now=timezone.now()).escalation
    client = login("staff")
    assert f">Prendre en compte {escalation.number}</button>" in client.get(f"/escalades/{escalation.pk}/").content.decode()
    response = client.post(f"/escalades/{escalation.pk}/prise-en-compte/", {"next": "escalation"})
    assert response["Location"] == f"/escalades/{escalation.pk}/"
    assert "Prise en compte par" in client.get(f"/escalades/{escalation.pk}/").content.decode()
    assert ">Prendre en compte" not in login("customer_a").get(f"/escalades/{escalation.pk}/").content.decode()


def test_the_portal_list_says_when_each_incident_can_be_escalated_and_filters(incidents, login):
    client = login("customer_a")
    page = client.get("/portail/").content.decode()
    assert "possible maintenant (niveau 1)" in page  # REQ-1001, high, 35 mn past take-charge
    assert "impossible (priorité)" in page  # REQ-1004, low
    assert "à partir du" in page  # REQ-1002, medium, not yet
    assert "REQ-1003" not in page  # resolved: not in the open ones shown first
    assert 'name="customer"' not in page  # one organisation: nothing to choose
    resolved = client.get("/portail/", {"shown": "resolved"}).content.decode()
    assert "REQ-1003" in resolved and "REQ-1001" not in resolved
    high = client.get("/portail/", {"shown": "all", "priority": "high"}).content.decode()
    assert "REQ-1001" in high and "REQ-1003" in high and "REQ-1002" not in high
    from escalade.web.forms import PortalFilter

    several = PortalFilter({"shown": "open", "customer": "client-b"}, customers=[("client-a", "A"), ("client-b", "B")])
    assert several.is_valid() and several.cleaned_data["customer"] == "client-b"  # a partner of several picks one
    assert "customer" not in PortalFilter({}, customers=[("client-a", "A")]).fields
    assert 'data-label="Escalade"' in page  # a card per row on a phone
