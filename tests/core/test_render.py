"""The policy rendered for people: the procedure document and the operator's summary."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from escalade.core import render
from escalade.core.policy import Policy, policy_from_toml
from escalade.policies import load_policy, policy_text

# Every number, name, phone and email of shared/procedure-hipcom.md, as the rendering writes them.
PROCEDURE_FACTS = (
    "HIPCOM",
    "moyen et élevé",
    "client final",
    "partenaire",
    "ressource interne",
    "faible",
    "moyen",
    "élevé",
    "Service non perturbé techniquement",
    "Absence de dysfonctionnement technique",
    "Service perturbé mais disponible",
    "Problème technique avec impact multi-utilisateurs",
    "Coupure totale – service indisponible",
    "4 h maximum en heures et jours ouvrés",
    "96 h maximum",
    "2 h maximum en 24/7",
    "48 h maximum",
    "30 mn maximum en 24/7",  # the procedure's "½h", in the one unit used everywhere
    "4 h maximum si GTR",
    "Si délai dépassé d'au moins 30 mn",
    "Si délai dépassé d'au moins 1 h",
    "Si délai dépassé d'au moins 2 h",
    "Si délai dépassé d'au moins 12 h",
    "Si délai dépassé d'au moins 24 h",
    "Toute demande d'escalade doit être impérativement accompagnée du numéro de requête de "
    "l'incident concerné.",
    "Contact Service Production",
    "Contact Service Support",
    "Escalade niveau 1",
    "Escalade niveau 2",
    "Escalade niveau 3",
    "Adrien Bourdon",
    "ADV",
    "Support Technique",
    "Escalade Support",
    "Vincent BLUSSEAU",
    "Responsable d'Exploitation",
    "Guillaume MASUIT",
    "Directeur",
    "04 26 78 04 78",
    "04 26 78 10 67",
    "04 56 40 60 74",
    "06 95 43 68 26",
    "04 56 40 60 00",
    "adrien@hipcom.fr",
    "escalade@hipcom.fr",
    "vincent@hipcom.fr",
    "guillaume@hipcom.fr",
)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def _modified(**replacements: str) -> Policy:
    text = policy_text()
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    return policy_from_toml(text)


class _Text(HTMLParser):
    """The visible text of an HTML document, and the tags seen."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_text(document: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(document)
    return "".join(parser.parts), parser.tags


@pytest.mark.parametrize("fact", PROCEDURE_FACTS)
def test_markdown_contains_every_fact_of_the_procedure(policy: Policy, fact: str) -> None:
    assert fact in render.procedure_markdown(policy)


@pytest.mark.parametrize("fact", PROCEDURE_FACTS)
def test_html_contains_every_fact_of_the_procedure(policy: Policy, fact: str) -> None:
    text, _ = _html_text(render.procedure_html(policy))
    assert fact in text


def test_markdown_sections_and_bold_rules(policy: Policy) -> None:
    md = render.procedure_markdown(policy)
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        "## 1. Principe",
        "## 2. Classification des incidents",
        "## 3. Délai d'escalade",
        "## 4. Contacts",
    ]
    assert "**Seuls les incidents de niveau de priorité moyen et élevé peuvent donner lieu à une escalade.**" in md
    assert "**Toute demande d'escalade doit être impérativement accompagnée" in md


def test_markdown_tables_rows(policy: Policy) -> None:
    md = render.procedure_markdown(policy)
    assert (
        "| élevé | Si délai dépassé d'au moins 30 mn | Si délai dépassé d'au moins 1 h "
        "| Si délai dépassé d'au moins 2 h |" in md
    )
    assert (
        "| moyen | Si délai dépassé d'au moins 1 h | Si délai dépassé d'au moins 12 h "
        "| Si délai dépassé d'au moins 24 h |" in md
    )
    # low is not escalable: it has no row in the thresholds table
    assert "| faible | Si délai" not in md
    assert "| 04 56 40 60 74 · 06 95 43 68 26 | vincent@hipcom.fr |" in md


def test_html_is_a_complete_document_with_a_table_per_table(policy: Policy) -> None:
    document = render.procedure_html(policy)
    assert document.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in document
    assert '<meta charset="utf-8">' in document
    assert document.rstrip().endswith("</html>")
    _, tags = _html_text(document)
    # classification, thresholds, general lines, one per escalation level
    assert tags.count("table") == 3 + 3
    assert tags.count("h2") == 4
    assert "strong" in tags


def test_html_body_is_the_fragment_of_the_document(policy: Policy) -> None:
    body = render.procedure_html_body(policy)
    assert "<html" not in body and "<body" not in body
    assert body in render.procedure_html(policy)


def test_html_escapes_policy_text() -> None:
    changed = _modified(**{'name = "Guillaume MASUIT"': 'name = "Guillaume <b>MASUIT</b> & Cie"'})
    document = render.procedure_html(changed)
    assert "<b>MASUIT</b>" not in document
    assert html.escape("Guillaume <b>MASUIT</b> & Cie") in document
    text, _ = _html_text(document)
    assert "Guillaume <b>MASUIT</b> & Cie" in text


def test_markdown_escapes_table_separators() -> None:
    changed = _modified(**{'role = "Directeur"': 'role = "Directeur | Gérant"'})
    assert "Directeur \\| Gérant" in render.procedure_markdown(changed)


def test_a_different_threshold_renders_differently(policy: Policy) -> None:
    changed = _modified(**{'escalation_thresholds = ["30min", "1h", "2h"]':
                           'escalation_thresholds = ["45min", "1h30min", "3h"]'})
    before, after = render.procedure_markdown(policy), render.procedure_markdown(changed)
    assert before != after
    assert "| élevé | Si délai dépassé d'au moins 45 mn | Si délai dépassé d'au moins 1 h 30 " in after
    assert "d'au moins 3 h" in after
    assert "d'au moins 30 mn" not in after
    assert render.procedure_html(policy) != render.procedure_html(changed)
    assert render.summary(policy) != render.summary(changed)


def test_targets_clocks_and_gtr_come_from_the_policy() -> None:
    changed = _modified(**{
        'resolution = { target = "4h", clock = "24/7", requires_gtr = true }':
        'resolution = { target = "6h", clock = "heures-ouvrees" }',
        'take_charge = { target = "2h", clock = "24/7" }':
        'take_charge = { target = "1h30min", clock = "24/7" }',
    })
    md = render.procedure_markdown(changed)
    assert "6 h maximum en heures et jours ouvrés" in md
    assert "si GTR" not in md and "GTR :" not in md
    assert "1 h 30 maximum en 24/7" in md


def test_contacts_and_organisation_come_from_the_policy() -> None:
    changed = _modified(**{
        'name = "HIPCOM"': 'name = "ACME Services"',
        'phones = ["04 56 40 60 00"]': 'phones = ["01 23 45 67 89"]',
        'email = "guillaume@hipcom.fr"': 'email = "direction@acme.example"',
    })
    md = render.procedure_markdown(changed)
    assert "HIPCOM" not in md.replace("hipcom.fr", "")
    assert "ACME Services" in md
    assert "01 23 45 67 89" in md and "04 56 40 60 00" not in md
    assert "direction@acme.example" in md


def test_only_escalable_priorities_in_principle_and_thresholds() -> None:
    changed = _modified(**{
        'escalable = true\ntake_charge = { target = "2h"':
        'escalable = false\ntake_charge = { target = "2h"',
    })
    md = render.procedure_markdown(changed)
    assert "**Seuls les incidents de niveau de priorité élevé peuvent donner lieu à une escalade.**" in md
    assert "| moyen | Si délai" not in md


def test_summary_lists_everything(policy: Policy) -> None:
    text = render.summary(policy)
    for expected in (
        "HIPCOM",
        "Europe/Paris",
        "heures-ouvrees",
        "mon : 09:00-18:00",
        "sat : fermé",
        "jours fériés : FR",
        "high (élevé)",
        "prise en charge 30 mn, horloge 24/7",
        "4 h, horloge 24/7, seulement avec GTR",
        "niveau 1 ≥ 30 mn, niveau 2 ≥ 1 h, niveau 3 ≥ 2 h",
        "escalade : impossible",
        "support — Service Support, 04 26 78 10 67 (par défaut)",
        "Vincent BLUSSEAU",
        "04 56 40 60 74 · 06 95 43 68 26",
        "guillaume@hipcom.fr",
        "informer les niveaux inférieurs : oui",
        "escalade automatique : non",
    ):
        assert expected in text, expected
    assert not re.search(r"\+33", text)


def test_html_makes_phones_and_addresses_links_that_never_break(policy: Policy) -> None:
    body = render.procedure_html_body(policy)
    assert '<a href="tel:+33456406074" class="nowrap">04 56 40 60 74</a>' in body
    assert '<a href="mailto:guillaume@hipcom.fr" class="nowrap">guillaume@hipcom.fr</a>' in body
    assert '<td data-label="Téléphone">' in body  # each cell names its column, for the phone layout
    assert "tel:" not in render.procedure_markdown(policy)  # Markdown keeps the numbers as text


def test_the_general_lines_come_in_the_procedures_order(policy: Policy) -> None:
    md = render.procedure_markdown(policy)
    assert "| Contact Service Production | Contact Service Support |" in md
    assert "| 04 26 78 04 78 | 04 26 78 10 67 |" in md


def test_the_procedure_in_english_keeps_the_policys_own_words(policy: Policy) -> None:
    from escalade.core import words
    from escalade.policies.publish import language_words

    before = words.language()
    with words.installed(*language_words("en")):
        md = render.procedure_markdown(policy)
        document = render.procedure_html(policy)
        assert words.language() == "en"
    assert words.language() == before
    assert "# Escalation procedure — HIPCOM" in md
    assert "**Only incidents of priority level moyen and élevé can be escalated.**" in md
    assert "| élevé | If a deadline is exceeded by at least 30 min |" in md
    assert "Heures et jours ouvrés: Monday to Friday from 9:00 to 18:00 (time zone Europe/Paris)" in md
    assert '<html lang="en">' in document
    with words.installed(*language_words("fr")):
        assert "# Procédure d'escalade — HIPCOM" in render.procedure_markdown(policy)
    assert words.language() == before  # the translator that was there before is back


def _section_of(md: str, text: str) -> str:
    """The '## ' heading above `text` in the markdown."""
    return [line for line in md[:md.index(text)].splitlines() if line.startswith("## ")][-1]


def test_the_interpretations_are_marked_in_their_sections(policy: Policy) -> None:
    md = render.procedure_markdown(policy)
    assert md.count("> *Interprétation :*") == len(policy.interpretations) == 4
    assert _section_of(md, "> *Interprétation :* Un incident déclaré") == "## 1. Principe"
    assert _section_of(md, "> *Interprétation :* « En heures et jours ouvrés »") == "## 2. Classification des incidents"
    assert _section_of(md, "> *Interprétation :* Le niveau 1 est le contact") == "## 4. Contacts"
    body = render.procedure_html_body(policy)
    assert body.count('<p class="interpretation"><strong>Interprétation :</strong> ') == 4
    assert "de 9\u00a0h à 18\u00a0h (heure de Paris), hors jours fériés, lundi de Pentecôte compris." in body


def test_the_interpretations_in_english_are_the_policys_translation(policy: Policy) -> None:
    from escalade.core import words
    from escalade.policies.publish import language_words

    with words.installed(*language_words("en")):
        md = render.procedure_markdown(policy)
    assert "> *Interpretation:* Level 1 is the contact of the incident's track: Service Support by default" in md
    assert "Interprétation" not in md


def test_an_interpretation_without_a_translation_keeps_the_policys_words() -> None:
    from escalade.core import words
    from escalade.policies.publish import language_words

    text = policy_text() + '\n[[interpretations]]\nsection = "thresholds"\ntext = "Seuils comptés en 24/7."\n'
    with words.installed(*language_words("en")):
        md = render.procedure_markdown(policy_from_toml(text))
    assert _section_of(md, "> *Interpretation:* Seuils comptés en 24/7.") == "## 3. When to escalate"
