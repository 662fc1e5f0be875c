"""The core's words in the reader's language.

The core writes French. An edge that knows its reader (a page, the API, a reply by e-mail) installs
a translator once, Django's `gettext`, whose catalogue holds the other languages; the core never
imports it. Without one, as for `escalade evaluate`, every word stays French. Sentences are
templates (`_("… {level} …").format(level=…)`), so a language may order the words its own way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

SOURCE_LANGUAGE = "fr"  # the language the core writes in


def _french() -> str | None:
    return None


_translate: Callable[[str], str] = str
_language: Callable[[], str | None] = _french


def install(translate: Callable[[str], str], language: Callable[[], str | None]) -> None:
    """`translate` maps a French text to the reader's; `language` names the reader's language (the
    caches of worded texts are kept per language)."""
    global _translate, _language
    _translate, _language = translate, language


@contextmanager
def installed(translate: Callable[[str], str], language: Callable[[], str | None]) -> Iterator[None]:
    """`install` for a while, then the translator that was there before."""
    previous = (_translate, _language)
    install(translate, language)
    try:
        yield
    finally:
        install(*previous)


def _(text: str) -> str:
    return _translate(text)


def language() -> str | None:
    return _language()
