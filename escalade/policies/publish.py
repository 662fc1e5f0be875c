"""The procedure as a document a provider sends to its customers: a PDF of the same HTML the
procedure page shows (WeasyPrint), and the core's words in a chosen language without Django (the
command line reads the catalogue's compiled file with the standard library)."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from pathlib import Path

from escalade.core import render, words
from escalade.core.policy import Policy

LOCALE = Path(__file__).resolve().parent.parent / "locale"


def language_words(language: str) -> tuple[Callable[[str], str], Callable[[], str]]:
    """The translator and language for `words.install`: a catalogue of `escalade/locale`, read with
    the standard library (French, the source, needs none)."""
    if language == words.SOURCE_LANGUAGE:
        return str, lambda: words.SOURCE_LANGUAGE
    catalogue = gettext.translation("django", localedir=LOCALE, languages=[language])
    return catalogue.gettext, lambda: language


def use_language(language: str) -> None:
    """Word the core in `language` for the rest of the process (the command line)."""
    words.install(*language_words(language))


def procedure_pdf(policy: Policy) -> bytes:
    """The procedure as a PDF, in the words' language."""
    import weasyprint  # loaded on demand: Pango is needed for the PDF only

    document = render.procedure_html(policy)
    return bytes(weasyprint.HTML(string=document).write_pdf())
