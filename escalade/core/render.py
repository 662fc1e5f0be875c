"""The policy for people: a plain-text summary, and the customer-facing procedure (French, or the
reader's language through `escalade.core.words`).

Pure: text in, text out, no I/O. Everything comes from the policy's data; the procedure is built
once as a list of blocks (headings, paragraphs, tables) and then written as Markdown or HTML, so
both formats always say the same thing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

from escalade.core import words
from escalade.core.calendar import TWENTY_FOUR_SEVEN, WEEKDAYS, BusinessCalendar, OpeningRange
from escalade.core.messages import format_duration, join_and, join_or, national_phone
from escalade.core.policy import (
    ALL_TRACKS,
    CommitmentRule,
    Contact,
    Policy,
    PriorityRule,
)
from escalade.core.words import _


def _day(index: int) -> str:
    match index:
        case 0:
            return _("lundi")
        case 1:
            return _("mardi")
        case 2:
            return _("mercredi")
        case 3:
            return _("jeudi")
        case 4:
            return _("vendredi")
        case 5:
            return _("samedi")
    return _("dimanche")


# -- small formatters ---------------------------------------------------------------------------


def _hour(moment: time | None) -> str:
    if moment is None:
        return _("24 h")
    # A time of day, not a duration ("{hour}", not "{hours}"): 9 h in French, 9:00 in English.
    if moment.minute == 0:
        return _("{hour} h").format(hour=moment.hour)
    return _("{hour} h {minute:02d}").format(hour=moment.hour, minute=moment.minute)


def _ranges(ranges: Sequence[OpeningRange]) -> str:
    return join_and([
        _("de {start} à {end}").format(start=_hour(r.start), end=_hour(r.end)) for r in ranges
    ])


def _ranges_short(ranges: Sequence[OpeningRange]) -> str:
    def hm(moment: time | None) -> str:
        return "24:00" if moment is None else moment.strftime("%H:%M")

    return ", ".join(f"{hm(r.start)}-{hm(r.end)}" for r in ranges) or "fermé"


def calendar_hours(calendar: BusinessCalendar) -> str:
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
            days = _("le {day}").format(day=_day(first))
        elif last == first + 1:
            days = _("le {first} et le {last}").format(first=_day(first), last=_day(last))
        else:
            days = _("du {first} au {last}").format(first=_day(first), last=_day(last))
        parts.append(f"{days} {_ranges(ranges)}")
    return " ; ".join(parts)


def _holidays(calendar: BusinessCalendar) -> str:
    closed = []
    if calendar.country:
        where = calendar.country + (f"-{calendar.subdivision}" if calendar.subdivision else "")
        closed.append(_("jours fériés ({where})").format(where=where))
    if calendar.closed_dates:
        closed.append(_("jours de fermeture exceptionnelle"))
    return _("hors {days}").format(days=join_and(closed)) if closed else ""


def calendar_sentence(calendar: BusinessCalendar, timezone: str) -> str:
    label = calendar.label or calendar.name
    text = _("{label} : {hours} (fuseau horaire {timezone})").format(
        label=f"{label[:1].upper()}{label[1:]}", hours=calendar_hours(calendar), timezone=timezone
    )
    holidays = _holidays(calendar)
    return f"{text}, {holidays}." if holidays else f"{text}."


def _clock(policy: Policy, clock: str) -> str:
    if clock == TWENTY_FOUR_SEVEN:
        return _("en 24/7")
    calendar = policy.calendars[clock]
    return _("en {calendar}").format(calendar=calendar.label or calendar.name)


def take_charge_text(policy: Policy, priority: PriorityRule) -> str:
    rule = priority.take_charge
    return _("{target} maximum {clock}").format(
        target=format_duration(rule.target), clock=_clock(policy, rule.clock)
    )


def resolution_text(policy: Policy, priority: PriorityRule) -> str:
    """'96h maximum', '4h maximum si GTR'; the clock is named only when it differs from take-charge's."""
    rule: CommitmentRule | None = priority.resolution
    if rule is None:
        return _("pas d'engagement de résolution")
    if rule.clock != priority.take_charge.clock:
        text = _("{target} maximum {clock}").format(
            target=format_duration(rule.target), clock=_clock(policy, rule.clock)
        )
    else:
        text = _("{target} maximum").format(target=format_duration(rule.target))
    if rule.requires_gtr:
        text = _("{text} si GTR").format(text=text)
    return text


def _track_label(policy: Policy, track: str) -> str:
    if track == ALL_TRACKS:
        return _("Toutes filières")
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
class Link:
    text: str
    href: str  # tel:+33…, mailto:…


# A cell is text, or links (a contact's phones, its e-mail address) that the HTML makes clickable.
Cell = str | tuple[Link, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _phones(numbers: Sequence[str], region: str) -> tuple[Link, ...]:
    return tuple(Link(national_phone(n, region), f"tel:{n}") for n in numbers)


def _text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else " · ".join(link.text for link in cell)


@dataclass(frozen=True)
class Note:
    """An interpretation: a choice the provider's document leaves open, marked as such."""

    text: str


Block = Heading | Paragraph | Table | Note


def _notes(policy: Policy, section: str) -> list[Block]:
    language = words.language()
    return [Note(i.text_in(language)) for i in policy.interpretations if i.section == section]


def _escalable(policy: Policy) -> list[PriorityRule]:
    return [p for p in policy.priorities.values() if p.escalable]


def procedure_blocks(policy: Policy) -> list[Block]:
    org = policy.organisation
    tz = getattr(policy.timezone, "key", str(policy.timezone))
    priorities = list(policy.priorities.values())
    escalable = _escalable(policy)
    blocks: list[Block] = [Heading(1, procedure_title(policy))]

    # §1 Principe
    blocks.append(Heading(2, _("1. Principe")))
    blocks.append(Paragraph(_(
        "L'escalade est un outil pour le client servant à informer directement les responsables "
        "opérationnels {organisation} afin de mettre en œuvre tous les moyens nécessaires à la "
        "résolution la plus rapide d'un incident."
    ).format(organisation=org)))
    if escalable:
        blocks.append(Paragraph(
            _("Seuls les incidents de niveau de priorité {labels} peuvent donner lieu à une escalade.")
            .format(labels=join_and([p.label for p in escalable])),
            strong=True,
        ))
    else:
        blocks.append(Paragraph(_("Aucun niveau de priorité ne peut donner lieu à une escalade."), strong=True))
    blocks.append(Paragraph(_(
        "L'escalade peut être déclenchée par le client final, le partenaire ou par une ressource "
        "interne {organisation}."
    ).format(organisation=org)))
    blocks += _notes(policy, "principle")

    # §2 Classification
    priority_header = _("Niveau de priorité")
    blocks.append(Heading(2, _("2. Classification des incidents")))
    blocks.append(Table(
        (priority_header, _("Signification"), _("Description"),
         _("Prise en charge de la requête"), _("Résolution de l'incident")),
        tuple(
            (p.label, p.meaning, p.description, take_charge_text(policy, p), resolution_text(policy, p))
            for p in priorities
        ),
    ))
    blocks.append(Paragraph(_(
        "Sauf mention contraire, le délai de résolution se décompte comme celui de la prise en charge."
    )))
    with_gtr = [p.label for p in priorities if p.resolution is not None and p.resolution.requires_gtr]
    if with_gtr:
        blocks.append(Paragraph(_(
            # "de niveau de priorité élevé", as the procedure agrees the labels ("priorité élevé" does not)
            "GTR : garantie de temps de rétablissement, selon le contrat. Sans GTR, un incident de "
            "niveau de priorité {labels} n'a pas d'engagement de délai de résolution."
        ).format(labels=join_or(with_gtr))))
    used = {p.take_charge.clock for p in priorities} | {
        p.resolution.clock for p in priorities if p.resolution is not None
    }
    if TWENTY_FOUR_SEVEN in used:
        blocks.append(Paragraph(_("24/7 : tous les jours, 24 heures sur 24, jours fériés compris.")))
    for name, calendar in policy.calendars.items():
        if name in used:
            blocks.append(Paragraph(calendar_sentence(calendar, tz)))
    blocks += _notes(policy, "classification")

    # §3 Délai d'escalade
    blocks.append(Heading(2, _("3. Délai d'escalade")))
    blocks.append(Paragraph(_(
        "Une escalade ne peut être déclenchée que si l'un des engagements de délai précisé dans le "
        "paragraphe précédent a été dépassé."
    )))
    if escalable:
        levels = policy.levels
        blocks.append(Table(
            (priority_header, *(_("Escalade niveau {level}").format(level=level) for level in levels)),
            tuple(
                (p.label, *(
                    _("Si délai dépassé d'au moins {threshold}").format(threshold=format_duration(t))
                    for t in p.thresholds
                ))
                for p in reversed(escalable)
            ),
        ))
    blocks += _notes(policy, "thresholds")

    # §4 Contacts
    blocks.append(Heading(2, _("4. Contacts")))
    blocks.append(Paragraph(_(
        "Toute demande d'escalade doit être impérativement accompagnée du numéro de requête de "
        "l'incident concerné."
    ), strong=True))
    if policy.request_number_example:
        blocks.append(Paragraph(
            _("Exemple de numéro de requête : {example}.").format(example=policy.request_number_example)
        ))
    region = policy.phone_region
    blocks.append(Table(
        tuple(_("Contact {track}").format(track=t.label) for t in policy.tracks.values()),
        (tuple(_phones((t.phone,), region) for t in policy.tracks.values()),),
    ))
    for level in policy.levels:
        contacts = [c for c in policy.contacts if c.level == level]
        if not contacts:
            continue
        blocks.append(Heading(3, _("Escalade niveau {level}").format(level=level)))
        blocks.append(Table(
            (_("Filière"), _("Contact"), _("Fonction"), _("Téléphone"), _("E-mail")),
            tuple(_contact_row(policy, c) for c in contacts),
        ))
    blocks += _notes(policy, "contacts")
    return blocks


def procedure_title(policy: Policy) -> str:
    return _("Procédure d'escalade — {organisation}").format(organisation=policy.organisation)


def _contact_row(policy: Policy, contact: Contact) -> tuple[Cell, ...]:
    track = contact.team or _track_label(policy, contact.track)
    email: Cell = (Link(contact.email, f"mailto:{contact.email}"),) if contact.email else ""
    return (track, contact.name, contact.role, _phones(contact.phones, policy.phone_region), email)


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
        elif isinstance(block, Note):
            out.append(f"> *{_note_label()}* {block.text}")
        else:
            lines = [
                "| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
                "|" + "|".join("---" for _ in block.headers) + "|",
            ]
            lines += ["| " + " | ".join(_md_cell(_text(c)) for c in row) + " |" for row in block.rows]
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
        elif isinstance(block, Note):
            out.append(f"<p class=\"interpretation\"><strong>{esc(_note_label())}</strong> {esc(block.text)}</p>")
        else:
            head = "".join(f"<th scope=\"col\">{esc(h)}</th>" for h in block.headers)
            # data-label: on a phone each row is a card, each cell named by its column
            body = "\n".join(
                "<tr>" + "".join(
                    f"<td data-label=\"{esc(h)}\">{_html_cell(c)}</td>" for h, c in zip(block.headers, row, strict=True)
                ) + "</tr>"
                for row in block.rows
            )
            out.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>")
    return "\n".join(out) + "\n"


def _note_label() -> str:
    return _("Interprétation :")


def _html_cell(cell: Cell) -> str:
    if isinstance(cell, str):
        return html.escape(cell)
    return " · ".join(
        f"<a href=\"{html.escape(link.href)}\" class=\"nowrap\">{html.escape(link.text)}</a>" for link in cell
    )


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1a1a1a}"
    "table{border-collapse:collapse;width:100%;margin:1rem 0}"
    "th,td{border:1px solid #999;padding:.4rem .6rem;text-align:left;vertical-align:top}"
    "th{background:#eee}"
    ".nowrap{white-space:nowrap}"
    ".interpretation{border-left:.3rem solid #8a5a00;background:#fdf6e3;padding:.4rem .75rem}"
    "@media (max-width:36rem){thead{display:none}tr,td{display:block}tr{margin-bottom:.75rem}"
    "td{border-width:0 1px 1px}tr td:first-child{border-top-width:1px}"
    "td[data-label]::before{content:attr(data-label);display:block;font-size:.8rem;color:#555}}"
)


def procedure_html(policy: Policy) -> str:
    """A complete standalone HTML document of the procedure, in the words' language."""
    language = words.language() or "fr"
    title = html.escape(procedure_title(policy))
    return (
        "<!DOCTYPE html>\n"
        f"<html lang=\"{html.escape(language)}\">\n<head>\n<meta charset=\"utf-8\">\n"
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
