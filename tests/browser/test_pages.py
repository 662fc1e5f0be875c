"""The acceptance walk-throughs of issue 5, in a real browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from web.support import make_incident

from .conftest import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(world):
    return {
        "breached": make_incident("REQ-1001", "client-a", "high", timedelta(minutes=65)),
        "running": make_incident("REQ-1002", "client-a", "medium", timedelta(minutes=20)),
        "low": make_incident("REQ-1004", "client-a", "low", timedelta(days=3)),
        "other": make_incident("REQ-2001", "client-b", "medium", timedelta(hours=4)),
    }


def test_customer_finds_a_breached_incident_escalates_and_gets_the_confirmation(scene, new_page):
    page = new_page()
    log_in(page, "cust-a", "pw-a-12345")
    assert page.url.endswith("/portail/")
    shot(page, "01-portal")

    page.get_by_label("Numéro de requête").fill("REQ-9999")
    page.get_by_role("button", name="Voir l'incident").click()
    alert = page.get_by_role("alert")
    assert "Aucun incident ne porte le numéro de requête « REQ-9999 »" in alert.inner_text()
    shot(page, "02-portal-unknown-number")

    page.get_by_label("Numéro de requête").fill("pas un numéro")
    page.get_by_role("button", name="Voir l'incident").click()
    assert "n'est pas un numéro de requête valide" in page.get_by_role("alert").inner_text()

    page.get_by_label("Numéro de requête").fill("REQ-1001")
    page.get_by_role("button", name="Voir l'incident").click()
    card = page.locator(".card")
    text = card.inner_text()
    assert "Escalade possible : niveau 1" in text
    assert "Support Technique" in text and "04 26 78 10 67" in text and "escalade@hipcom.fr" in text
    assert page.locator('a[href="tel:+33426781067"]').count() == 1
    assert page.locator('a[href="mailto:escalade@hipcom.fr"]').count() == 1
    clock = page.locator(".clock[data-due]").first
    before = clock.inner_text()
    page.wait_for_timeout(1500)
    assert clock.inner_text() != before, "the overdue counter is live"
    shot(page, "03-incident-card")

    page.get_by_label("Motif de l'escalade").fill("Coupure totale depuis plus d'une heure")
    page.get_by_role("button", name="Escalader", exact=True).click()
    heading = page.get_by_role("heading", level=1)
    assert re.search(r"Escalade ESC-\d{6} enregistrée", heading.inner_text())
    shot(page, "04-escalation-confirmation")


def test_staff_sees_a_new_escalation_without_reloading_and_acknowledges_it(scene, new_page):
    from escalade.escalations.services import request_escalation

    page = new_page()
    log_in(page, "staff", "pw-s-12345")
    assert page.url.endswith("/tableau-de-bord/")
    page.evaluate("window.__notReloaded = true")
    assert "Aucune escalade" in page.locator("#feed").inner_text()

    outcome = request_escalation(user=scene["breached"].customer.users.first(), request_number="REQ-1001",
                                 reason="Toujours coupé", now=timezone.now())
    number = outcome.escalation.number
    item = page.locator("#feed").get_by_role("link", name=number)
    item.wait_for(timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True, "the feed refreshed in place"
    shot(page, "05-dashboard-new-escalation")

    page.get_by_role("button", name=f"Prendre en compte {number}").click()
    page.locator("#feed").get_by_text("Prise en compte").wait_for()
    assert page.evaluate("window.__notReloaded") is True
    # focus stays with the escalation just acknowledged, not at the top of the page
    assert page.evaluate("document.activeElement.id") == f"esc-{outcome.escalation.pk}"
    outcome.escalation.refresh_from_db()
    assert outcome.escalation.acknowledged_at is not None
    shot(page, "06-dashboard-acknowledged")

    rows = page.locator("table.open tbody tr")
    assert rows.first.locator(".st-breached").count() >= 1, "breached incidents come first"
    page.goto("/incidents/REQ-1004/")
    assert "Pourquoi cette échéance" in page.content()
    shot(page, "07-incident-page")
    page.goto("/rapports/")
    assert page.locator("table.report").count() == 1 and page.locator("svg.chart").count() == 2
    shot(page, "08-reports")


def test_customer_b_gets_the_unknown_page_for_customer_a_incident(scene, new_page):
    page = new_page()
    log_in(page, "cust-b", "pw-b-12345")
    page.goto("/portail/incidents/REQ-1001/")
    theirs = page.locator("main").inner_text()
    page.goto("/portail/incidents/REQ-1999/")
    unknown = page.locator("main").inner_text()
    assert theirs.replace("REQ-1001", "N") == unknown.replace("REQ-1999", "N")
    assert "Aucun incident ne porte le numéro de requête" in theirs
    page.goto("/portail/?request_number=REQ-1001")
    assert "Aucun incident ne porte le numéro de requête « REQ-1001 »" in page.locator("main").inner_text()
    shot(page, "09-out-of-scope")


def test_the_english_switch_translates_the_pages(scene, new_page):
    page = new_page()
    page.goto("/connexion/")
    shot(page, "00-login")
    page.goto("/procedure/")
    shot(page, "10-procedure")
    log_in(page, "cust-a", "pw-a-12345")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Escalate an incident"
    page.get_by_label("Request number").fill("REQ-1001")
    page.get_by_role("button", name="Show the incident").click()
    assert "Escalation possible: level 1" in page.locator(".card").inner_text()
    shot(page, "11-english-card")
    page.get_by_role("button", name="Français").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "fr"


def test_the_portal_is_usable_on_a_phone(scene, new_page):
    page = new_page(390, 844)
    log_in(page, "part-p", "pw-p-12345")
    page.goto("/portail/incidents/REQ-1001/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling on a phone"
    shot(page, "12-phone-card")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() in ("Aller au contenu", "Skip to content")


def test_demo_data_pages(new_page):
    """The demonstration database through a staff member's eyes: dashboard, reports, an incident."""
    import io

    from django.core.management import call_command

    call_command("demo", stdout=io.StringIO())
    page = new_page()
    log_in(page, "support", "demo-support")
    shot(page, "13-demo-dashboard")
    page.goto("/rapports/")
    assert page.locator("table.report tbody tr").count() >= 4
    assert page.locator("svg.chart").count() == 2
    shot(page, "14-demo-reports")
    page.goto("/incidents/REQ-1007/")
    shot(page, "15-demo-incident-business-time")


def test_the_emailed_link_confirms_then_acknowledges_and_the_dashboard_names_the_recipient(scene, new_page):
    """The recipient of the e-mail, who has no account, acknowledges from the link; the staff
    dashboard then shows the escalation taken into account by them (it answered 500)."""

    from escalade.escalations.services import request_escalation
    from escalade.notifications.tokens import ack_token

    outcome = request_escalation(user=None, request_number="REQ-1001", reason="Site coupé", now=timezone.now())
    page = new_page()
    page.goto(f"/ack/{ack_token(outcome.escalation.pk, 'Adrien Bourdon', 'adrien@hipcom.fr')}/")
    # What is acknowledged, before confirming: the incident, its customer, the level, the reason, the clocks.
    context = page.locator("main").inner_text()
    for expected in ("REQ-1001", "Incident REQ-1001", "Client A", "niveau 1", "Site coupé", "Prise en charge",
                     "de retard"):
        assert expected in context, expected
    assert page.get_by_role("link", name="Voir l'incident et sa chronologie").count() == 1
    shot(page, "16-ack-confirm")
    page.get_by_role("button", name="Je prends en compte l'escalade").click()
    page.wait_for_load_state()
    assert "par Escalade pour Adrien Bourdon" not in page.content()
    assert "Adrien Bourdon" in page.get_by_role("status").inner_text()
    shot(page, "17-ack-done")
    staff = new_page()
    log_in(staff, "staff", "pw-s-12345")
    staff.goto("/tableau-de-bord/")
    assert "Adrien Bourdon" in staff.locator("#feed").inner_text()


def test_an_email_from_an_unverified_address_is_confirmed_from_the_link_and_staff_see_it_waiting(
    scene, new_page, settings
):
    """Issue 13: the customer wrote to the procedure's address without DMARC pass; the link sent to
    their known address shows the request, and escalates only when they confirm."""
    from mail.support import message

    from escalade.escalations.models import Escalation
    from escalade.mail.models import InboundMessage
    from escalade.mail.services import confirmation_token, receive

    settings.ESCALADE_MAIL_ADDRESS = "escalade@hipcom.fr"
    raw = message(sender="a@client-a.fr", subject="Escalade REQ-1001 : site coupé", dmarc=False,
                  body="Le site de Lyon est coupé depuis une heure.", message_id="<browser@client-a.fr>")
    inbound = receive(raw, now=timezone.now(), source="pipe").message
    staff = new_page()
    log_in(staff, "staff", "pw-s-12345")
    staff.goto("/tableau-de-bord/")
    waiting = staff.get_by_role("region", name="E-mails à suivre")
    assert "en attente de confirmation" in waiting.inner_text() and "REQ-1001" in waiting.inner_text()
    shot(staff, "30-dashboard-mail-waiting")

    token = confirmation_token(inbound.pk)
    phone = new_page(390, 844)
    phone.goto(f"/mail/confirmer/{token}/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "31-mail-confirm-phone")
    page = new_page()
    page.goto(f"/mail/confirmer/{token}/")
    assert "Le site de Lyon est coupé" in page.content() and not Escalation.objects.exists()
    shot(page, "32-mail-confirm")
    page.get_by_role("button", name="Je confirme cette demande d'escalade").click()
    page.wait_for_load_state()
    assert "escalade accordée" in page.get_by_role("status").inner_text()
    shot(page, "33-mail-confirmed")
    assert Escalation.objects.get().channel == "email"
    assert InboundMessage.objects.get().confirmed_at is not None


class DrivenClock:
    """The time the test says, for the live server (same process) and the page alike: the server's
    `timezone.now` and Chromium's clock (Playwright's) move forward together."""

    def __init__(self, monkeypatch, page) -> None:
        self.offset = timedelta(0)
        self.page = page
        real = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real() + self.offset)
        page.clock.install()  # the page's Date and timers, running at their natural pace until moved

    def forward(self, by: timedelta) -> None:
        self.offset += by
        self.page.clock.fast_forward(int(by.total_seconds() * 1000))


def test_the_card_updates_itself_across_a_breach_and_level_openings_on_a_driven_clock(world, new_page, monkeypatch):
    """High priority opened 20 mn ago: the test moves the clock past the take-charge deadline, then
    to level 1 and level 2 (procedure §3: 30 mn and 1 h past it). Each time the badge, the message,
    the heading and the form change on their own, the page is never reloaded, and the reason being
    typed stays."""
    page = new_page()
    log_in(page, "cust-a", "pw-a-12345")
    clock = DrivenClock(monkeypatch, page)
    make_incident("REQ-1050", "client-a", "high", timedelta(minutes=20))
    page.goto("/portail/incidents/REQ-1050/")
    card = page.locator("#live .card")
    assert "en cours" in card.locator(".commitment").first.inner_text()
    assert "Aucun engagement de délai n'est dépassé" in card.inner_text()
    page.evaluate("window.notReloaded = true")

    clock.forward(timedelta(minutes=10, seconds=5))  # the deadline passed 5 s ago
    page.locator("#live .commitment .state", has_text="dépassé").first.wait_for()
    text = card.inner_text()
    assert "Le délai de prise en charge est dépassé de 0 mn" in text
    assert "Escalade pas encore possible" in text and "Le niveau 1 s'ouvre dans 29 mn" in text
    shot(page, "43-card-updated-by-itself")

    clock.forward(timedelta(minutes=30))  # 30 mn 05 s late: level 1
    page.locator("#live", has_text="Escalade possible : niveau 1").wait_for()
    reason = page.locator("#live textarea[name=reason]")
    reason.fill("Site coupé depuis ce matin.")

    clock.forward(timedelta(minutes=30))  # 1 h 00 mn 05 s late: level 2
    page.locator("#live", has_text="Escalade possible : niveau 2").wait_for()
    assert reason.input_value() == "Site coupé depuis ce matin."
    assert page.evaluate("window.notReloaded") is True
    shot(page, "43-card-level-2-by-itself")


def test_on_a_phone_the_escalations_to_acknowledge_come_first(scene, new_page):
    from escalade.escalations.services import request_escalation

    request_escalation(user=None, request_number="REQ-1001", reason="Toujours coupé", now=timezone.now())
    page = new_page(390, 844)
    log_in(page, "staff", "pw-s-12345")
    pending = page.locator("#feed .feed-item.pending").first.bounding_box()
    table = page.locator("table.open").bounding_box()
    assert pending is not None and table is not None and pending["y"] < table["y"]
    assert pending["y"] < 844, "visible without scrolling"
    assert page.get_by_role("link", name="À prendre en compte (1)").count() == 1
    shot(page, "44-dashboard-phone-pending-first")
