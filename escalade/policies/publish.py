"""The procedure as a document a provider sends to its customers: a PDF of the same HTML the
procedure page shows (WeasyPrint), and the core's words in a chosen language without Django (the
command line reads the catalogue's compiled file with the standard library)."""

from __future__ import annotations

import gettext
from pathlib import Path

from escalade.core import render, words
from escalade.core.policy import Policy

LOCALE = Path(__file__).resolve().parent.parent / "locale"
SOURCE_LANGUAGE = "fr"


def use_language(language: str) -> None:
    """Word the core in `language` (a catalogue of `escalade/locale`; French needs none)."""
    if language == SOURCE_LANGUAGE:
        words.install(str, lambda: SOURCE_LANGUAGE)
        return
    catalogue = gettext.translation("django", localedir=LOCALE, languages=[language])
    words.install(catalogue.gettext, lambda: language)


def procedure_pdf(policy: Policy, language: str = SOURCE_LANGUAGE) -> bytes:
    import weasyprint  # loaded on demand: Pango is needed for the PDF only

    document = render.procedure_html(policy, language)
    return bytes(weasyprint.HTML(string=document).write_pdf())
