"""The one place that words the procedure for a person, in French: durations, instants, phone
numbers, commitment and state labels, and the sentences of the escalation decision.

One unit for durations, the procedure's own ("au moins 30 mn"): '30 mn', '4 h', '1 h 30'.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

import phonenumbers

from escalade.core.policy import PriorityRule

if TYPE_CHECKING:
    from escalade.core.sla import CommitmentStatus

COMMITMENT_LABELS = {"take_charge": "prise en charge", "resolution": "résolution"}
STATE_LABELS = {
    "running": "en cours",
    "met": "respecté",
    "breached": "dépassé",
    "missed": "dépassé (clos)",
    "paused": "en pause",
}


def format_duration(duration: timedelta) -> str:
    """As the procedure writes it: '30 mn', '4 h', '1 h 30' (whole minutes, rounded down)."""
    minutes = int(duration.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return f"{rest} mn"
    return f"{hours} h" if rest == 0 else f"{hours} h {rest:02d}"


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
    if instant.tzinfo is not UTC:  # equal wall-clock times in one zone may be different instants
        return instant.astimezone(tz).strftime("%d/%m/%Y à %H:%M")
    return _format_utc(instant, tz)


@lru_cache(maxsize=1 << 15)
def _format_utc(instant: datetime, tz: tzinfo) -> str:
    # A stream of incidents words the same deadlines and instants over and over.
    return instant.astimezone(tz).strftime("%d/%m/%Y à %H:%M")


def _commitment(status: CommitmentStatus) -> str:
    return COMMITMENT_LABELS[status.kind.value]


def eligible(
    level: int, worst: CommitmentStatus, next_level_at: datetime | None, tz: tzinfo
) -> str:
    text = (
        f"Escalade possible jusqu'au niveau {level} : le délai de {_commitment(worst)} "
        f"est dépassé de {format_duration(worst.overdue)}."
    )
    if next_level_at is not None:
        text += f" Le niveau {level + 1} sera ouvert le {format_instant(next_level_at, tz)}."
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
        f" Elle sera possible le {format_instant(eligible_at, tz)} si l'incident n'est pas "
        "pris en charge ou résolu d'ici là."
        if eligible_at is not None
        else ""
    )
    if reason == "priority_not_escalable":
        # The labels are the policy's ("moyen", "élevé"): they agree with "niveau de priorité", as in
        # the published procedure.
        if not escalable_labels:
            allowed = "Aucun niveau de priorité ne peut donner lieu à une escalade"
        else:
            allowed = (
                f"Seuls les incidents de niveau de priorité {join_fr(escalable_labels, 'ou')} "
                "peuvent donner lieu à une escalade"
            )
        return f"{allowed} ; cet incident est de niveau de priorité {priority.label}."
    if reason == "incident_resolved":
        return "L'incident est résolu : il ne peut plus donner lieu à une escalade."
    if reason == "no_commitment_exceeded":
        return "Aucun engagement de délai n'est dépassé : l'escalade n'est pas encore possible." + when
    exceeded = max((s for s in statuses if s.exceeded), key=lambda s: s.overdue)
    return (
        f"Le délai de {_commitment(exceeded)} est dépassé de {format_duration(exceeded.overdue)}, "
        f"mais l'escalade de niveau 1 demande un dépassement d'au moins "
        f"{format_duration(priority.threshold(1))}." + when
    )


def join_fr(items: Sequence[str], word: str = "et") -> str:
    """'a', 'a et b', 'a, b et c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def invalid_level(requested: int, levels: Sequence[int]) -> str:
    choices = join_fr([str(level) for level in levels], "ou")
    return f"Le niveau d'escalade demandé ({requested}) n'existe pas : choisir {choices}."


def level_above_allowed(requested: int, allowed: int) -> str:
    return (
        f"L'escalade de niveau {requested} n'est pas encore possible : "
        f"le niveau autorisé actuellement est le niveau {allowed}."
    )


def overdue_text(overdue: timedelta) -> str:
    return format_duration(overdue)


def auto_escalation_reason(commitment: str, level: int, opened_at: datetime, tz: tzinfo) -> str:
    """The reason the system gives when it raises an escalation itself (policy `auto_escalate`)."""
    return (
        f"Escalade automatique : le délai de {COMMITMENT_LABELS[commitment]} est dépassé, "
        f"le niveau {level} est ouvert depuis le {format_instant(opened_at, tz)}."
    )
