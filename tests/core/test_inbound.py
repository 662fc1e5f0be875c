"""Reading an e-mail to the procedure's address, without I/O (escalade.core.inbound)."""

from __future__ import annotations

import pytest

from escalade.core import inbound
from escalade.core.policy import Policy


@pytest.mark.parametrize(("text", "expected"), [
    ("Escalade REQ-1042 svp", ["REQ-1042"]),
    ("escalade req-1042", ["REQ-1042"]),
    ("numéro REQ - 1042", ["REQ-1042"]),
    ("Re: [Escalade] REQ-1042 — escalade niveau 2", ["REQ-1042"]),
    ("REQ-1042 et REQ-1043, REQ-1042", ["REQ-1042", "REQ-1043"]),
    ("merci d'escalader au niveau 2 vers a@client-a.fr", []),
    ("aucun numéro ici", []),
])
def test_request_numbers_are_found_forgiving_case_and_spaces(hipcom: Policy, text: str, expected: list[str]) -> None:
    assert inbound.find_request_numbers(hipcom, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("[Ticket#10010] Panne du lien", ["10010"]),  # Zammad's subject
    ("[GLPI #0001042] Nouveau suivi", ["1042"]),  # GLPI pads its ticket ids
    ("Merci d'escalader la demande n° 1003", ["1003"]),
    ("Ticket : 77, toujours rien", ["77"]),
    ("Escalade INC0010001 svp", ["INC0010001"]),  # ServiceNow
    ("Escalade de I-000123", ["I-000123"]),  # iTop
    ("SUP-123 bloque la production", ["SUP-123"]),  # Jira
    ("coupure depuis 2 heures, rappelez le 01 23 45 67 89 avant le 03/12/2026 à 10:45", []),
    ("escalade niveau 2 en N2 pour REQ-1042", ["REQ-1042"]),
])
def test_digits_alone_are_a_number_only_where_the_writer_marks_them(hipcom: Policy, text: str,
                                                                    expected: list[str]) -> None:
    assert inbound.find_request_numbers(hipcom, text) == expected


def test_the_level_named_is_one_of_the_policys(hipcom: Policy) -> None:
    assert inbound.find_level("Merci d'escalader au niveau 2", hipcom.levels) == 2
    assert inbound.find_level("escalate to level 3", hipcom.levels) == 3
    assert inbound.find_level("passer en N3", hipcom.levels) == 3
    assert inbound.find_level("au niveau 7", hipcom.levels) is None
    assert inbound.find_level("depuis 2 heures", hipcom.levels) is None


def test_own_words_drop_quotes_the_quoted_original_and_the_signature() -> None:
    text = ("Toujours en panne.\n> ancien message\n\nMerci\n-- \nAlice\n")
    assert inbound.own_words(text) == "Toujours en panne.\n\nMerci"
    assert inbound.own_words("Relance\n\nLe 2 déc. 2026 à 10:00, Support a écrit :\n> texte") == "Relance"
    assert inbound.own_words("Relance\nOn Wed, Dec 2, 2026, Support wrote:\n> text") == "Relance"
    assert inbound.own_words("Relance\n-----Original Message-----\nFrom: x") == "Relance"


@pytest.mark.parametrize("headers", [
    {"auto-submitted": "auto-replied"}, {"precedence": "bulk"}, {"precedence": "auto_reply"},
    {"return-path": "<>"}, {"x-autoreply": "yes"}, {"list-id": "<l.example>"},
    {"from-address": "MAILER-DAEMON@mx.example"}, {"from-address": "escalade@hipcom.fr"},
    {"message-id": "<0123abcd@escalade>"}, {"x-escalade-kind": "mail_reply"},
])
def test_machines_and_our_own_messages_are_automatic(headers: dict[str, str]) -> None:
    assert inbound.is_automatic({"from-address": "a@client-a.fr", **headers}, "escalade@hipcom.fr")


def test_a_person_writing_is_not_automatic() -> None:
    headers = {"from-address": "a@client-a.fr", "auto-submitted": "no", "message-id": "<1@client-a.fr>"}
    assert not inbound.is_automatic(headers, "escalade@hipcom.fr")


def test_dmarc_is_believed_only_from_the_trusted_receiving_host() -> None:
    trusted = ["mx.hipcom.fr"]
    assert inbound.dmarc_passed(["mx.hipcom.fr; spf=pass; dmarc=pass header.from=client-a.fr"], trusted)
    assert not inbound.dmarc_passed(["mx.hipcom.fr; dmarc=fail header.from=client-a.fr"], trusted)
    assert not inbound.dmarc_passed(["evil.example; dmarc=pass"], trusted)
    assert not inbound.dmarc_passed(["mx.hipcom.fr; dmarc=pass"], [])
    assert not inbound.dmarc_passed([], trusted)
