"""What an e-mail sent to the procedure's address asks, read without I/O: the request numbers it
quotes, the level it names, its own words (quoted replies and signature removed), whether a machine
sent it, and whether the receiving MTA vouched for its sender (DMARC)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from escalade.core.policy import Policy

# Words, possibly joined by dashes; "REQ - 1042" (spaces around the dash) is joined back below.
_WORD = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_SPACED_DASH = re.compile(r"\b([A-Za-z][A-Za-z0-9]{0,15})\s*-\s*([0-9]{1,12})\b")
# What announces a number written as digits alone, right before it: "#", "n°", "no.", "numéro",
# "ticket", "demande", "requête", "request", "incident", "dossier", "réf."
_NUMBER_MARK = re.compile(
    r"(?:#|\bn[°o]\.?|\bnum(?:[ée]ro)?\.?|\b(?:ticket|demande|requ[êe]te|request|incident|dossier|case|"
    r"r[ée]f(?:[ée]rence)?\.?)(?:\s+(?:n[°o]\.?|num(?:[ée]ro)?\.?|#))?)\s*[:#]?\s*$",
    re.IGNORECASE,
)
_LEVEL = re.compile(r"\b(?:niveau|level|N)\s*([0-9])\b", re.IGNORECASE)
# Where a reply's quoted original starts: "Le 2 déc. 2026 à 10:00, X a écrit :", "On … wrote:",
# Outlook's "-----Original Message-----" or its "De : …" block.
_QUOTE_HEAD = re.compile(
    r"^\s*(?:Le .+ a écrit\s*:|On .+ wrote:|-{2,}\s*(?:Original Message|Message d'origine)\s*-{2,}|"
    r"(?:De|From)\s*:\s.+)\s*$",
    re.IGNORECASE,
)
AUTOMATIC_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
AUTOMATIC_SENDERS = ("mailer-daemon", "postmaster", "noreply", "no-reply")


def find_request_numbers(policy: Policy, *texts: str) -> list[str]:
    """Every request number of the policy's pattern in the texts, in upper case, once each, in the
    order quoted ("req-1042" and "REQ - 1042" are REQ-1042). Digits alone count only where the
    writer marks them as a number ("#1042", "n° 1042", "ticket 1042", Zammad's "[Ticket#1042]",
    GLPI's "[GLPI #0001042]"): "depuis 2 heures", a date or a phone number are not requests. Such
    a number is read without its leading zeros, as the helpdesks that number with digits count (GLPI
    writes ticket 1042 as #0001042)."""
    found: list[str] = []
    for text in texts:
        candidates = [(m.start(), m.group(0)) for m in _WORD.finditer(text)]
        candidates += [(m.start(), f"{m.group(1)}-{m.group(2)}") for m in _SPACED_DASH.finditer(text)]
        for start, candidate in sorted(candidates):
            number = candidate.upper()
            if number.isdigit():
                if not _NUMBER_MARK.search(text, max(0, start - 32), start):
                    continue
                number = number.lstrip("0") or "0"
            if policy.is_request_number(number) and number not in found:
                found.append(number)
    return found


def find_level(text: str, levels: Iterable[int]) -> int | None:
    """The level named ("niveau 2", "level 3", "N2") when it is one of the policy's, else None."""
    known = set(levels)
    for match in _LEVEL.finditer(text):
        level = int(match.group(1))
        if level in known:
            return level
    return None


def own_words(text: str) -> str:
    """The writer's text: quoted lines, the quoted original and the signature ("-- ") removed."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.rstrip() in ("--", "-- ") or _QUOTE_HEAD.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _first(headers: Mapping[str, str], name: str) -> str:
    return str(headers.get(name.lower(), "")).strip().lower()


def is_automatic(headers: Mapping[str, str], own_address: str) -> bool:
    """A bounce, an auto-reply, a list or Escalade's own message (RFC 3834): never answered.
    `headers` maps lower-case names to values."""
    auto = _first(headers, "auto-submitted")
    if auto and auto != "no":
        return True
    if _first(headers, "precedence") in AUTOMATIC_PRECEDENCE:
        return True
    if any(_first(headers, name) for name in ("x-autoreply", "x-autorespond", "list-id", "x-escalade-kind")):
        return True
    if _first(headers, "return-path") == "<>":
        return True
    sender = _first(headers, "from-address")
    if sender == own_address.lower() or sender.split("@")[0] in AUTOMATIC_SENDERS:
        return True
    return _first(headers, "message-id").endswith("@escalade>")


def dmarc_passed(results: Iterable[str], trusted: Iterable[str]) -> bool:
    """True when an Authentication-Results header (RFC 8601) written by one of the `trusted` hosts
    (its authserv-id) says dmarc=pass. The trusted MTA must remove such headers from what it
    receives, as RFC 8601 asks, or a sender could write its own."""
    hosts = {host.strip().lower() for host in trusted if host.strip()}
    for result in results:
        authserv, _, rest = result.partition(";")
        if (authserv.split() or [""])[0].lower() in hosts and re.search(r"\bdmarc\s*=\s*pass\b", rest, re.I):
            return True
    return False
