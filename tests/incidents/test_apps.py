"""The core's words go through Django's catalogue in the reader's language, and French, the core's
own, is taken as written without a look-up."""

from __future__ import annotations

from django.utils import translation

from escalade.core.words import _

REASON_REQUIRED = "Le motif de l'escalade est obligatoire."


def test_a_core_text_in_french_is_taken_as_written_without_a_catalogue_look_up(monkeypatch):
    def no_look_up(text: str) -> str:
        raise AssertionError(f"looked up: {text}")

    monkeypatch.setattr(translation, "gettext", no_look_up)
    with translation.override("fr"):
        assert _(REASON_REQUIRED) == REASON_REQUIRED


def test_a_core_text_in_english_comes_from_the_catalogue():
    with translation.override("en"):
        assert _(REASON_REQUIRED) == "The reason for the escalation is required."
