"""The committed English catalogue: complete, and its compiled .mo in step with the .po (CI may have
no msgfmt, so the .mo in the repository is the one that is served). The French one, the source
language, holds every text of the English one as itself: a French look-up is then a hit."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import escalade

LOCALE = Path(escalade.__file__).parent / "locale" / "en" / "LC_MESSAGES"
FRENCH = LOCALE.parent.parent / "fr" / "LC_MESSAGES"


def _unquote(block: str) -> str:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', block)
    text = "".join(parts)
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def po_entries() -> dict[str, str]:
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    entries = {}
    for msgid, msgstr in re.findall(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', text, re.M):
        entries[_unquote(msgid)] = _unquote(msgstr)
    return entries


def test_every_message_has_an_english_translation():
    entries = po_entries()
    assert len(entries) > 200
    assert [k for k, v in entries.items() if k and not v] == []
    assert "fuzzy" not in (LOCALE / "django.po").read_text(encoding="utf-8")


def test_the_compiled_catalogue_matches_the_po_file():
    with (LOCALE / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, msgstr in po_entries().items():
        if msgid:
            assert compiled.gettext(msgid) == msgstr, msgid


def test_the_french_catalogue_holds_every_text_as_itself_with_the_english_plural_rule():
    with (LOCALE / "django.mo").open("rb") as handle:
        english = gettext.GNUTranslations(handle)
    with (FRENCH / "django.mo").open("rb") as handle:
        french = gettext.GNUTranslations(handle)
    singular = [key for key in english._catalog if isinstance(key, str) and key]  # type: ignore[attr-defined]
    plural = [key for key in english._catalog if isinstance(key, tuple)]  # type: ignore[attr-defined]
    assert len(singular) > 200 and plural
    assert [key for key in singular if french._catalog.get(key) != key] == []  # type: ignore[attr-defined]
    assert [key for key in plural if key not in french._catalog] == []  # type: ignore[attr-defined]
    # The rule the source texts follow: "0 incidents ouverts", as before the catalogue.
    assert french.ngettext("%(n)s incident ouvert", "%(n)s incidents ouverts", 0) == "%(n)s incidents ouverts"
    assert french.ngettext("%(n)s incident ouvert", "%(n)s incidents ouverts", 1) == "%(n)s incident ouvert"
    po = (FRENCH / "django.po").read_text(encoding="utf-8")
    assert '"Language: fr\\n"' in po and "fuzzy" not in po
