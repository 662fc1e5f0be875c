"""The one place that words the procedure for a person: durations, instants, phone numbers,
commitment and state labels, and the sentences of the escalation decision. Written in French, in
the reader's language through `escalade.core.words`.

One unit for durations, the procedure's own ("au moins 30 mn"): '30 mn', '4 h', '1 h 30'.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

import phonenumbers

from escalade.core.policy import PriorityRule
from escalade.core.words import _

if TYPE_CHECKING:
    from escalade.core.sla import CommitmentStatus


def commitment_label(kind: str) -> str:
    """'take_charge' → 'prise en charge', in the reader's language."""
    if kind == "take_charge":
        return _("prise en charge")
    if kind == "resolution":
        return _("résolution")
    return ""


def state_label(state: str) -> str:
    match state:
        case "running":
            return _("en cours")
        case "met":
            return _("respecté")
        case "breached":
            return _("dépassé")
        case "missed":
            return _("dépassé (clos)")
        case "paused":
            return _("en pause")
    return state


def format_duration(duration: timedelta) -> str:
    """As the procedure writes it: '30 mn', '4 h', '1 h 30' (whole minutes, rounded down)."""
    minutes = int(duration.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return _("{minutes} mn").format(minutes=rest)
    if rest == 0:
        return _("{hours} h").format(hours=hours)
    return _("{hours} h {minutes:02d}").format(hours=hours, minutes=rest)


@lru_cache(maxsize=1024)  # a policy has a few dozen numbers, shown on every card and page
def national_phone(e164: str, region: str) -> str:
    """'+33426780478' → '04 26 78 04 78' for the policy's region; international format otherwise."""
    try:
        number = phonenumbers.parse(e164, region)
    except phonenumbers.NumberParseException:
        return e164
    same_region = phonenumbers.region_code_for_number(number) == region
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL if same_region else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return str(phonenumbers.format_number(number, fmt))


def format_instant(instant: datetime, tz: tzinfo) -> str:
    """'27/11/2026 à 11:00' in the policy's zone."""
    pattern = _("%d/%m/%Y à %H:%M")
    if instant.tzinfo is not UTC:  # equal wall-clock times in one zone may be different instants
        return instant.astimezone(tz).strftime(pattern)
    return _format_utc(instant, tz, pattern)


@lru_cache(maxsize=1 << 15)
def _format_utc(instant: datetime, tz: tzinfo, pattern: str) -> str:
    # A stream of incidents words the same deadlines and instants over and over.
    return instant.astimezone(tz).strftime(pattern)


def _commitment(status: CommitmentStatus) -> str:
    return commitment_label(status.kind.value)


def eligible(
    level: int, worst: CommitmentStatus, next_level_at: datetime | None, tz: tzinfo
) -> str:
    text = _(
        "Escalade possible jusqu'au niveau {level} : le délai de {commitment} est dépassé de {overdue}."
    ).format(level=level, commitment=_commitment(worst), overdue=format_duration(worst.overdue))
    if next_level_at is not None:
        text += " " + _("Le niveau {level} sera ouvert le {at}.").format(
            level=level + 1, at=format_instant(next_level_at, tz)
        )
    return text


def refusal(
    reason: str,
    priority: PriorityRule,
    eligible_at: datetime | None,
    statuses: Iterable[CommitmentStatus],
    tz: tzinfo,
    escalable_labels: Sequence[str],
) -> str:
    """Why an escalation is refused; `escalable_labels` are those of the policy's escalable priorities."""
    when = (
        " " + _(
            "Elle sera possible le {at} si l'incident n'est pas pris en charge ou résolu d'ici là."
        ).format(at=format_instant(eligible_at, tz))
        if eligible_at is not None
        else ""
    )
    if reason == "priority_not_escalable":
        # The labels are the policy's ("moyen", "élevé"): they agree with "niveau de priorité", as in
        # the published procedure.
        if not escalable_labels:
            allowed = _("Aucun niveau de priorité ne peut donner lieu à une escalade")
        else:
            allowed = _(
                "Seuls les incidents de niveau de priorité {labels} peuvent donner lieu à une escalade"
            ).format(labels=join_or(escalable_labels))
        return _("{allowed} ; cet incident est de niveau de priorité {label}.").format(
            allowed=allowed, label=priority.label
        )
    if reason == "incident_resolved":
        return _("L'incident est résolu : il ne peut plus donner lieu à une escalade.")
    if reason == "no_commitment_exceeded":
        return _("Aucun engagement de délai n'est dépassé : l'escalade n'est pas encore possible.") + when
    exceeded = max((s for s in statuses if s.exceeded), key=lambda s: s.overdue)
    return _(
        "Le délai de {commitment} est dépassé de {overdue}, mais l'escalade de niveau 1 demande "
        "un dépassement d'au moins {threshold}."
    ).format(
        commitment=_commitment(exceeded),
        overdue=format_duration(exceeded.overdue),
        threshold=format_duration(priority.threshold(1)),
    ) + when


def _join(items: Sequence[str], last: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return last.format(first=", ".join(items[:-1]), last=items[-1])


def join_and(items: Sequence[str]) -> str:
    """'a', 'a et b', 'a, b et c'."""
    return _join(items, _("{first} et {last}"))


def join_or(items: Sequence[str]) -> str:
    """'a', 'a ou b', 'a, b ou c'."""
    return _join(items, _("{first} ou {last}"))


def invalid_level(requested: int, levels: Sequence[int]) -> str:
    return _("Le niveau d'escalade demandé ({requested}) n'existe pas : choisir {choices}.").format(
        requested=requested, choices=join_or([str(level) for level in levels])
    )


def level_above_allowed(requested: int, allowed: int) -> str:
    return _(
        "L'escalade de niveau {requested} n'est pas encore possible : "
        "le niveau autorisé actuellement est le niveau {allowed}."
    ).format(requested=requested, allowed=allowed)


def overdue_text(overdue: timedelta) -> str:
    return format_duration(overdue)


def auto_escalation_reason(commitment: str, level: int, opened_at: datetime, tz: tzinfo) -> str:
    """The reason the system gives when it raises an escalation itself (policy `auto_escalate`)."""
    return _(
        "Escalade automatique : le délai de {commitment} est dépassé, "
        "le niveau {level} est ouvert depuis le {at}."
    ).format(commitment=commitment_label(commitment), level=level, at=format_instant(opened_at, tz))

