"""The filters' select writes what Django's writes (but for the blank lines between options)."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.utils.safestring import mark_safe

from escalade.web.forms import DashboardFilter, Select

CHOICES = [("", "Tous"), ("client-a", "Client A <Lyon> & fils"), ('"quoted"', "Guillemets"),
           ("Groupe", [("g1", "Un"), ("g2", "Deux")]), (42, "Quarante-deux"), ("safe", mark_safe("<b>sûr</b>"))]


def same_html(ours: str, django: str) -> bool:
    return re.sub(r"\n\s*\n", "\n", ours) == re.sub(r"\n\s*\n", "\n", django)


@pytest.mark.parametrize("value", ["", "client-a", '"quoted"', "g2", "42", "absent", None])
@pytest.mark.parametrize("attrs", [{}, {"id": "id_x", "required": True, "autofocus": True, "disabled": False,
                                        "aria-describedby": 'id_x_helptext "<>"'}])
def test_the_select_writes_django_s_html(value, attrs):
    ours = Select(choices=CHOICES).render("customer", value, attrs)
    django = forms.Select(choices=CHOICES).render("customer", value, attrs)
    assert same_html(ours, django), (ours, django)
    assert "<Lyon>" not in ours and "&lt;Lyon&gt; &amp; fils" in ours  # labels and values escaped


def test_the_dashboard_filter_marks_the_chosen_customer(db):
    customers = [(f"client-{i}", f"Client {i}") for i in range(200)]
    form = DashboardFilter({"customer": "client-42"}, customers=customers)
    html = str(form["customer"])
    assert html.count("<option") == 201
    assert '<option value="client-42" selected>Client 42</option>' in html
