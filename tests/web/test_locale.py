"""The committed English catalogue: complete, and its compiled .mo in step with the .po (CI may have
no msgfmt, so the .mo in the repository is the one that is served)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import escalade

LOCALE = Path(escalade.__file__).parent / "locale" / "en" / "LC_MESSAGES"


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
