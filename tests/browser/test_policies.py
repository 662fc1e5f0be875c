"""A policy edited in the admin, in a real browser: the validator's message at its path, the diff,
the confirmed save; and a customer under the four-priority example policy in the portal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from policies.conftest import gold  # noqa: F401  (the fixture)
from web.support import make_incident

from escalade.policies.models import PolicyVersion

from .conftest import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_edits_the_policy_sees_the_path_named_error_then_the_diff_and_saves(world, new_page):
    page = new_page()
    log_in(page, "admin", "pw-adm-12345")
    page.goto("/admin/policies/policyversion/add/")
    text = page.locator("textarea[name=text]")
    original = text.input_value()
    assert "Guillaume MASUIT" in original
    text.fill(original.replace('escalation_thresholds = ["30min", "1h", "2h"]', 'escalation_thresholds = ["1h", "30min"]'))
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.wait_for_load_state()
    shot(page, "40-admin-policy-invalid")
    errors = page.locator(".errorlist li").all_inner_texts()
    assert "priorities.high.escalation_thresholds[1] : les seuils doivent croître strictement d'un niveau au suivant" in errors
    text.fill(original.replace('take_charge = { target = "30min", clock = "24/7" }',
                               'take_charge = { target = "20min", clock = "24/7" }'))
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("pre", has_text='+take_charge = { target = "20min"').is_visible()
    shot(page, "41-admin-policy-diff")
    page.get_by_label("J'ai relu les changements : enregistrer cette version").check()
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.wait_for_load_state()
    shot(page, "42-admin-policy-versions")
    saved = PolicyVersion.objects.get(name="hipcom", number=2)
    assert saved.created_by.username == "admin" and '"20min"' in saved.text


def test_a_customer_under_the_gold_policy_sees_its_own_priorities_levels_and_contacts(world, gold, new_page):  # noqa: F811
    make_incident("INC0010001", "client-b", "p1", timedelta(minutes=40))
    page = new_page()
    log_in(page, "cust-b", "pw-b-12345")
    page.goto("/portail/incidents/INC0010001/")
    body = page.locator("body").inner_text()
    assert "P1 critique" in body and "Centre de services Gold" in body
    shot(page, "43-portal-gold-incident")
    page.goto("/procedure/")
    assert "OPALE Services" in page.locator("body").inner_text()
    shot(page, "44-procedure-gold")
