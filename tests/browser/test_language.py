"""One language at a time: with English chosen, every page a person meets reads in English. What
stays French is what the policy writes itself (its priority labels, meanings, tracks, contacts,
calendars) and the data (customers' names, incident titles): those are removed from the text first,
then no French word may remain."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from web.support import make_incident

from escalade.policies import file_policy

from .conftest import SCREENSHOTS, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Words that only French has (none is an English word or the product's name, Escalade).
FRENCH = re.compile(
    r"\b(le|la|les|des|du|une|est|et|ou|dans|pour|avec|sur|pas|aucun|aucune|délai|dépassé|dépassée|niveau|"
    r"prise|résolu|résolution|priorité|possible le|jusqu'au|depuis|votre|vos|heures?|jours?|mn|"
    r"filière|demande|numéro|requête|en cours|ouvert|clos)\b|[éèêàçùô]",
    re.IGNORECASE,
)


def _policy_words() -> list[str]:
    policy = file_policy()
    words = [policy.organisation, "Français"]  # the switch names each language in itself
    for p in policy.priorities.values():
        words += [p.label, p.meaning, p.description]
    for t in policy.tracks.values():
        words.append(t.label)
    for c in policy.contacts:
        words += [c.name, c.role, c.team]
    for cal in policy.calendars.values():
        words += [cal.label or "", cal.name]
    return sorted((w for w in words if w), key=len, reverse=True)  # longest first: "Support Technique" before "Support"


def french_left(text: str, data: tuple[str, ...] = ()) -> list[str]:
    for word in (*data, *_policy_words()):
        text = re.sub(re.escape(word), " ", text, flags=re.IGNORECASE)  # "Heures ouvrées" begins a sentence
    return sorted({m.group(0) for m in FRENCH.finditer(text)})


@pytest.fixture
def scene(world):
    return {
        "breached": make_incident("REQ-1001", "client-a", "high", timedelta(minutes=65)),
        "running": make_incident("REQ-1002", "client-a", "medium", timedelta(minutes=20)),
        "low": make_incident("REQ-1004", "client-a", "low", timedelta(days=3)),
    }


DATA = ("Client A", "Client B", "Partenaire P")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_customer_pages_in_english_have_no_french_sentence(scene, new_page, width):
    page = new_page(width)
    log_in(page, "cust-a", "pw-a-12345")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    for path, name in (("/portail/", "portal"), ("/portail/incidents/REQ-1001/", "card-breached"),
                       ("/portail/incidents/REQ-1002/", "card-running"), ("/portail/incidents/REQ-1004/", "card-low"),
                       ("/procedure/", "procedure")):
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == "en"
        shot(page, f"40-en-{name}-{width}")
        assert french_left(page.locator("body").inner_text(), DATA) == [], path


@pytest.mark.parametrize("width", [1280, 390])
def test_the_staff_pages_in_english_have_no_french_sentence(scene, new_page, width):
    page = new_page(width)
    log_in(page, "staff", "pw-s-12345")
    # The check catches French: the dashboard in French is full of it.
    found = {word.lower() for word in french_left(page.locator("body").inner_text(), DATA)}
    assert {"niveau", "aucune"} <= found and len(found) >= 5, found
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    for path, name in (("/tableau-de-bord/", "dashboard"), ("/incidents/REQ-1001/", "incident"),
                       ("/rapports/", "reports")):
        page.goto(path)
        shot(page, f"41-en-{name}-{width}")
        assert french_left(page.locator("body").inner_text(), DATA) == [], path


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_procedure_fits_a_phone_with_numbers_that_can_be_called(new_page, world, language):
    page = new_page(390, 844)
    page.goto("/procedure/")
    if language == "en":
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no horizontal scrolling on a phone"
    director = page.locator('a[href="tel:+33456406000"]')
    assert director.inner_text() == "04 56 40 60 00"
    box = director.bounding_box()
    assert box is not None and box["height"] < 30, "a phone number on one line"
    assert page.locator('a[href="mailto:guillaume@hipcom.fr"]').count() == 1
    # The choices the procedure leaves open are marked as Escalade's, in the page's language.
    notes = page.locator(".procedure .interpretation")
    assert notes.count() == 4
    assert notes.first.inner_text().startswith("Interprétation :" if language == "fr" else "Interpretation:")
    shot(page, f"42-procedure-phone-{language}")
    notes.nth(1).screenshot(path=str(SCREENSHOTS / f"42-procedure-phone-{language}-interpretation.png"))
