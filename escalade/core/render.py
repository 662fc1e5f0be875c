"""The policy for people: a plain-text summary, and the customer-facing procedure in French.

Pure: text in, text out, no I/O. Everything comes from the policy's data; the procedure is built
once as a list of blocks (headings, paragraphs, tables) and then written as Markdown or HTML, so
both formats always say the same thing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

from escalade.core.calendar import TWENTY_FOUR_SEVEN, WEEKDAYS, BusinessCalendar, OpeningRange
from escalade.core.messages import format_duration, national_phone
from escalade.core.policy import (
    ALL_TRACKS,
    CommitmentRule,
    Contact,
    Policy,
    PriorityRule,
)

DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

# -- small French formatters --------------------------------------------------------------------


def _join_fr(items: Sequence[str], word: str = "et") -> str:
    """'a', 'a et b', 'a, b et c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _hour(moment: time | None) -> str:
    if moment is None:
        return "24 h"
    return f"{moment.hour} h" if moment.minute == 0 else f"{moment.hour} h {moment.minute:02d}"


def _ranges_fr(ranges: Sequence[OpeningRange]) -> str:
    return " et ".join(f"de {_hour(r.start)} à {_hour(r.end)}" for r in ranges)


def _ranges_short(ranges: Sequence[OpeningRange]) -> str:
    def hm(moment: time | None) -> str:
        return "24:00" if moment is None else moment.strftime("%H:%M")

    return ", ".join(f"{hm(r.start)}-{hm(r.end)}" for r in ranges) or "fermé"


def calendar_hours_fr(calendar: BusinessCalendar) -> str:
    """'du lundi au vendredi de 9 h à 18 h' (consecutive days with the same hours grouped)."""
    groups: list[tuple[int, int, tuple[OpeningRange, ...]]] = []
    for day in range(7):
        ranges = tuple(calendar.weekly.get(day, ()))
        if not ranges:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == ranges:
            groups[-1] = (groups[-1][0], day, ranges)
        else:
            groups.append((day, day, ranges))
    parts = []
    for first, last, ranges in groups:
        if first == last:
            days = f"le {DAY_NAMES[first]}"
        elif last == first + 1:
            days = f"le {DAY_NAMES[first]} et le {DAY_NAMES[last]}"
        else:
            days = f"du {DAY_NAMES[first]} au {DAY_NAMES[last]}"
        parts.append(f"{days} {_ranges_fr(ranges)}")
    return " ; ".join(parts)


def _holidays_fr(calendar: BusinessCalendar) -> str:
    closed = []
    if calendar.country:
        where = calendar.country + (f"-{calendar.subdivision}" if calendar.subdivision else "")
        closed.append(f"jours fériés ({where})")
    if calendar.closed_dates:
        closed.append("jours de fermeture exceptionnelle")
    return f"hors {_join_fr(closed)}" if closed else ""


def calendar_sentence(calendar: BusinessCalendar, timezone: str) -> str:
    label = calendar.label or calendar.name
    text = f"{label[:1].upper()}{label[1:]} : {calendar_hours_fr(calendar)} (fuseau horaire {timezone})"
    holidays = _holidays_fr(calendar)
    return f"{text}, {holidays}." if holidays else f"{text}."


def _clock_fr(policy: Policy, clock: str) -> str:
    if clock == TWENTY_FOUR_SEVEN:
        return "en 24/7"
    calendar = policy.calendars[clock]
    return f"en {calendar.label or calendar.name}"


def take_charge_fr(policy: Policy, priority: PriorityRule) -> str:
    rule = priority.take_charge
    return f"{format_duration(rule.target)} maximum {_clock_fr(policy, rule.clock)}"


def resolution_fr(policy: Policy, priority: PriorityRule) -> str:
    """'96h maximum', '4h maximum si GTR'; the clock is named only when it differs from take-charge's."""
    rule: CommitmentRule | None = priority.resolution
    if rule is None:
        return "pas d'engagement de résolution"
    text = f"{format_duration(rule.target)} maximum"
    if rule.clock != priority.take_charge.clock:
        text += f" {_clock_fr(policy, rule.clock)}"
    if rule.requires_gtr:
        text += " si GTR"
    return text


def _track_label(policy: Policy, track: str) -> str:
    if track == ALL_TRACKS:
        return "Toutes filières"
    found = policy.tracks.get(track)
    return found.label if found is not None else track


# -- the procedure as blocks --------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    strong: bool = False


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Heading | Paragraph | Table


def _escalable(policy: Policy) -> list[PriorityRule]:
    return [p for p in policy.priorities.values() if p.escalable]


def procedure_blocks(policy: Policy) -> list[Block]:
    org = policy.organisation
    tz = getattr(policy.timezone, "key", str(policy.timezone))
    priorities = list(policy.priorities.values())
    escalable = _escalable(policy)
    blocks: list[Block] = [Heading(1, f"Procédure d'escalade — {org}")]

    # §1 Principe
    blocks.append(Heading(2, "1. Principe"))
    blocks.append(Paragraph(
        f"L'escalade est un outil pour le client servant à informer directement les responsables "
        f"opérationnels {org} afin de mettre en œuvre tous les moyens nécessaires à la résolution "
        f"la plus rapide d'un incident."
    ))
    if escalable:
        labels = _join_fr([p.label for p in escalable])
        blocks.append(Paragraph(
            f"Seuls les incidents de niveau de priorité {labels} peuvent donner lieu à une escalade.",
            strong=True,
        ))
    else:
        blocks.append(Paragraph("Aucun niveau de priorité ne peut donner lieu à une escalade.", strong=True))
    blocks.append(Paragraph(
        f"L'escalade peut être déclenchée par le client final, le partenaire ou par une ressource "
        f"interne {org}."
    ))

    # §2 Classification
    blocks.append(Heading(2, "2. Classification des incidents"))
    blocks.append(Table(
        ("Niveau de priorité", "Signification", "Description",
         "Prise en charge de la requête", "Résolution de l'incident"),
        tuple(
            (p.label, p.meaning, p.description, take_charge_fr(policy, p), resolution_fr(policy, p))
            for p in priorities
        ),
    ))
    blocks.append(Paragraph(
        "Sauf mention contraire, le délai de résolution se décompte comme celui de la prise en charge."
    ))
    with_gtr = [p.label for p in priorities if p.resolution is not None and p.resolution.requires_gtr]
    if with_gtr:
        blocks.append(Paragraph(
            "GTR : garantie de temps de rétablissement, selon le contrat. Sans GTR, un incident de "
            f"priorité {_join_fr(with_gtr, 'ou')} n'a pas d'engagement de délai "
            "de résolution."
        ))
    used = {p.take_charge.clock for p in priorities} | {
        p.resolution.clock for p in priorities if p.resolution is not None
    }
    if TWENTY_FOUR_SEVEN in used:
        blocks.append(Paragraph("24/7 : tous les jours, 24 heures sur 24, jours fériés compris."))
    for name, calendar in policy.calendars.items():
        if name in used:
            blocks.append(Paragraph(calendar_sentence(calendar, tz)))

    # §3 Délai d'escalade
    blocks.append(Heading(2, "3. Délai d'escalade"))
    blocks.append(Paragraph(
        "Une escalade ne peut être déclenchée que si l'un des engagements de délai précisé dans le "
        "paragraphe précédent a été dépassé."
    ))
    if escalable:
        levels = policy.levels
        blocks.append(Table(
            ("Niveau de priorité", *(f"Escalade niveau {level}" for level in levels)),
            tuple(
                (p.label, *(f"Si délai dépassé d'au moins {format_duration(t)}" for t in p.thresholds))
                for p in reversed(escalable)
            ),
        ))

    # §4 Contacts
    blocks.append(Heading(2, "4. Contacts"))
    blocks.append(Paragraph(
        "Toute demande d'escalade doit être impérativement accompagnée du numéro de requête de "
        "l'incident concerné.",
        strong=True,
    ))
    if policy.request_number_example:
        blocks.append(Paragraph(f"Exemple de numéro de requête : {policy.request_number_example}."))
    region = policy.phone_region
    blocks.append(Table(
        tuple(f"Contact {t.label}" for t in policy.tracks.values()),
        (tuple(national_phone(t.phone, region) for t in policy.tracks.values()),),
    ))
    for level in policy.levels:
        contacts = [c for c in policy.contacts if c.level == level]
        if not contacts:
            continue
        blocks.append(Heading(3, f"Escalade niveau {level}"))
        blocks.append(Table(
            ("Filière", "Contact", "Fonction", "Téléphone", "E-mail"),
            tuple(_contact_row(policy, c) for c in contacts),
        ))
    return blocks


def _contact_row(policy: Policy, contact: Contact) -> tuple[str, ...]:
    track = contact.team or _track_label(policy, contact.track)
    phones = " · ".join(national_phone(p, policy.phone_region) for p in contact.phones)
    return (track, contact.name, contact.role, phones, contact.email)


# -- writers ------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def procedure_markdown(policy: Policy) -> str:
    out: list[str] = []
    for block in procedure_blocks(policy):
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(f"**{block.text}**" if block.strong else block.text)
        else:
            lines = [
                "| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
                "|" + "|".join("---" for _ in block.headers) + "|",
            ]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def procedure_html_body(policy: Policy) -> str:
    """The procedure as an HTML fragment (headings, paragraphs, tables), every text escaped."""
    esc = html.escape
    out: list[str] = []
    for block in procedure_blocks(policy):
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{esc(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            text = f"<strong>{esc(block.text)}</strong>" if block.strong else esc(block.text)
            out.append(f"<p>{text}</p>")
        else:
            head = "".join(f"<th scope=\"col\">{esc(h)}</th>" for h in block.headers)
            body = "\n".join(
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in block.rows
            )
            out.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>")
    return "\n".join(out) + "\n"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1a1a1a}"
    "table{border-collapse:collapse;width:100%;margin:1rem 0}"
    "th,td{border:1px solid #999;padding:.4rem .6rem;text-align:left;vertical-align:top}"
    "th{background:#eee}"
)


def procedure_html(policy: Policy) -> str:
    """A complete standalone HTML document of the procedure."""
    title = html.escape(f"Procédure d'escalade — {policy.organisation}")
    return (
        "<!DOCTYPE html>\n"
        "<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"{procedure_html_body(policy)}"
        "</body>\n</html>\n"
    )


# -- the operator's summary ---------------------------------------------------------------------


def _commitment_line(policy: Policy, name: str, rule: CommitmentRule | None) -> str:
    if rule is None:
        return f"    {name:<15} aucun engagement"
    clock = rule.clock if rule.clock == TWENTY_FOUR_SEVEN else f"{rule.clock} (calendrier)"
    gtr = ", seulement avec GTR" if rule.requires_gtr else ""
    return f"    {name:<15} {format_duration(rule.target)}, horloge {clock}{gtr}"


def summary(policy: Policy) -> str:
    """Plain-text summary of a policy, for `escalade policy show`."""
    region = policy.phone_region
    tz = getattr(policy.timezone, "key", str(policy.timezone))
    lines = [
        f"Organisation : {policy.organisation}",
        f"Fuseau horaire : {tz}",
        f"Région téléphonique : {region}",
        f"Numéro de requête : {policy.request_number_pattern.pattern}"
        + (f" (exemple : {policy.request_number_example})" if policy.request_number_example else ""),
        "",
        "Calendriers :",
    ]
    for name, calendar in policy.calendars.items():
        lines.append(f"  {name} — {calendar.label or name}")
        for index, day in enumerate(WEEKDAYS):
            lines.append(f"    {day} : {_ranges_short(calendar.weekly.get(index, ()))}")
        if calendar.country:
            subdivision = f", subdivision {calendar.subdivision}" if calendar.subdivision else ""
            lines.append(f"    jours fériés : {calendar.country}{subdivision}")
        else:
            lines.append("    jours fériés : aucun")
        if calendar.closed_dates:
            closed = ", ".join(d.isoformat() for d in sorted(calendar.closed_dates))
            lines.append(f"    fermetures : {closed}")
        for open_day, ranges in sorted(calendar.open_dates.items()):
            lines.append(f"    ouverture exceptionnelle {open_day.isoformat()} : {_ranges_short(ranges)}")
    lines += ["", "Priorités :"]
    for p in policy.priorities.values():
        lines.append(f"  {p.key} ({p.label}) — {p.meaning}" if p.meaning else f"  {p.key} ({p.label})")
        if p.description:
            lines.append(f"    {p.description}")
        lines.append(_commitment_line(policy, "prise en charge", p.take_charge))
        lines.append(_commitment_line(policy, "résolution", p.resolution))
        if p.escalable:
            thresholds = ", ".join(
                f"niveau {level} ≥ {format_duration(t)}" for level, t in enumerate(p.thresholds, start=1)
            )
            lines.append(f"    escalade : {thresholds}")
        else:
            lines.append("    escalade : impossible")
    lines += ["", "Filières :"]
    for track in policy.tracks.values():
        default = " (par défaut)" if track.default else ""
        lines.append(f"  {track.key} — {track.label}, {national_phone(track.phone, region)}{default}")
    lines += ["", "Contacts :"]
    for level in policy.levels:
        for c in (c for c in policy.contacts if c.level == level):
            phones = " · ".join(national_phone(p, region) for p in c.phones)
            role = f", {c.role}" if c.role else ""
            team = f" [{c.team}]" if c.team else ""
            lines.append(
                f"  niveau {c.level} / {_track_label(policy, c.track)} : {c.name}{role}{team} — "
                f"{phones} — {c.email}"
            )
    rules = policy.notifications
    lines += [
        "",
        "Notifications :",
        f"  informer les niveaux inférieurs : {'oui' if rules.inform_lower_levels else 'non'}",
        f"  alerte avant dépassement : {format_duration(rules.warning_lead_24_7)} avant (24/7), "
        f"{format_duration(rules.warning_lead_business)} ouvrée avant (calendrier)",
        f"  destinataires alerte : {', '.join(rules.warning_recipients) or '—'}",
        f"  destinataires dépassement : {', '.join(rules.breach_recipients) or '—'}",
        f"  destinataires niveau disponible : {', '.join(rules.level_available_recipients) or '—'}",
        f"  escalade automatique : {'oui' if rules.auto_escalate else 'non'}",
        f"  relance d'accusé de réception : toutes les {format_duration(rules.ack_reminder_after)}, "
        f"{rules.ack_reminder_max} fois au plus",
    ]
    return "\n".join(lines)
