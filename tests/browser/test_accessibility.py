"""axe-core (from the npm registry: `make axe`) on every page, at desktop and phone width, in both
languages: no violation. The pages' CSP is bypassed for the injected engine only."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from web.support import make_incident

from .conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
AXE = next(iter(sorted((ROOT / ".venv" / "axe").glob("axe-core-*/axe.min.js"))), None)


@pytest.fixture
def scene(world):
    from escalade.escalations.services import request_escalation
    from escalade.mail.services import confirmation_token
    from escalade.notifications.tokens import ack_token

    make_incident("REQ-1001", "client-a", "high", timedelta(minutes=65))
    make_incident("REQ-1002", "client-a", "medium", timedelta(minutes=20))
    make_incident("REQ-1004", "client-a", "low", timedelta(days=3))
    outcome = request_escalation(user=None, request_number="REQ-1001", reason="Site coupé", now=timezone.now())
    from escalade.mail.models import Decision, InboundMessage

    inbound = InboundMessage.objects.create(
        message_id="<axe@client-a.fr>", source="pipe", received_at=timezone.now(), sender="a@client-a.fr",
        subject="REQ-1001", size=10, decision=Decision.AWAITING_CONFIRMATION, user=world.users["customer_a"],
        request_number="REQ-1001", reason="Site coupé")
    return {"escalation": outcome.escalation.pk,
            "ack": ack_token(outcome.escalation.pk, "Adrien Bourdon", "adrien@hipcom.fr"),
            "confirm": confirmation_token(inbound.pk)}


PUBLIC = ["/connexion/", "/procedure/", "/ack/{ack}/", "/mail/confirmer/{confirm}/"]
CUSTOMER = ["/portail/", "/portail/incidents/REQ-1001/", "/portail/incidents/REQ-1004/",
            "/portail/?request_number=REQ-9999", "/escalades/{escalation}/", "/incidents/REQ-1001/", "/mot-de-passe/"]
STAFF = ["/tableau-de-bord/", "/incidents/REQ-1004/", "/rapports/", "/api/v1/docs"]


def _log_in(page, username: str, password: str) -> None:
    page.goto("/connexion/")  # by the fields' names: the labels are in the page's language
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()


def _violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in json.loads(found)]



@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_has_no_accessibility_violation(scene, browser, live_server, width, language):
    assert AXE is not None, "make axe downloads axe-core from the npm registry"
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR" if language == "fr" else "en-GB",
                                  base_url=live_server.url, bypass_csp=True, extra_http_headers={"Accept-Language": language})
    context.set_default_timeout(10_000)
    page = context.new_page()
    found: dict[str, list[str]] = {}
    try:
        for who, paths in ((None, PUBLIC), (("cust-a", "pw-a-12345"), CUSTOMER), (("staff", "pw-s-12345"), STAFF)):
            if who:
                context.clear_cookies()
                _log_in(page, *who)
            for path in paths:
                page.goto(path.format(**scene))
                page.wait_for_load_state("networkidle")
                problems = _violations(page)
                if problems:
                    found[path] = problems
                name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")[:40] or "home"
                shot(page, f"50-axe-{language}-{width}-{name}")
    finally:
        context.close()
    assert found == {}
