"""The evaluation contract of SPEC §2: JSON-shaped facts in, JSON-shaped evaluation out.

Parsing checks every fact and fails with a stable `code` and a French message; nothing is assumed
(an instant without an offset is an error, never read as local time).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from escalade.core.escalation import Evaluation
from escalade.core.policy import Contact, Policy
from escalade.core.sla import CommitmentStatus, IncidentFacts, Pause
from escalade.core.words import _


class FactsError(ValueError):
    """Facts that cannot be evaluated: `code` for programs, `message` in French for people."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def parse_instant(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise FactsError("invalid_instant", _("« {field} » doit être une date ISO-8601 avec décalage.").format(field=field), field)
    try:
        instant = _fromisoformat(value)
    except ValueError:
        raise FactsError(
            "invalid_instant",
            _("« {field} » n'est pas une date ISO-8601 valide : « {value} ».").format(field=field, value=value),
            field,
        ) from None
    zone = instant.tzinfo
    if zone is not UTC:  # UTC is 'Z' or '+00:00'
        if zone is None or instant.utcoffset() is None:
            raise FactsError(
                "naive_instant",
                _("« {field} » n'indique pas de décalage horaire (par exemple +01:00 ou Z) : « {value} ».")
                .format(field=field, value=value),
                field,
            )
        try:
            instant = instant.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+14:00 is in year 0
            raise _out_of_range(field, value) from None
    if not EARLIEST <= instant < LATEST:
        raise _out_of_range(field, value)
    return instant


_fromisoformat = datetime.fromisoformat
# Instants an incident can have: deadlines are counted from them (days ahead, calendars a day
# around), so the ends of the datetime range are refused rather than overflowed.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def _out_of_range(field: str, value: object) -> FactsError:
    return FactsError(
        "instant_out_of_range",
        _("« {field} » est hors de la plage acceptée (années 1970 à 2199) : « {value} ».").format(
            field=field, value=value),
        field,
    )


def _optional_instant(raw: Mapping[str, Any], field: str) -> datetime | None:
    value = raw.get(field)
    return None if value is None else parse_instant(value, field)


def request_number_of(raw: object) -> str | None:
    """The request number if there is a usable one: error lines still name their incident."""
    if isinstance(raw, Mapping):
        value = raw.get("request_number")
        if isinstance(value, str):
            return value
    return None


# What a helpdesk's ticket number can be at most (and what the service stores).
REQUEST_NUMBER_MAX = 64


def check_request_number(policy: Policy, value: object) -> str:
    if isinstance(value, str):
        number = value.strip()
        if number and len(number) <= REQUEST_NUMBER_MAX and policy.request_number_pattern.fullmatch(number):
            return number
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FactsError(
            "request_number_required",
            _("Le numéro de requête de l'incident est obligatoire."),
            "request_number",
        )
    example = policy.request_number_example
    message = (
        _("« {value} » n'est pas un numéro de requête valide (exemple : {example}).")
        if example else _("« {value} » n'est pas un numéro de requête valide.")
    )
    raise FactsError(
        "invalid_request_number",
        message.format(value=value, example=example),
        "request_number",
    )


def request_number_candidates(policy: Policy, typed: str) -> tuple[str, ...]:
    """The request numbers a person typing `typed` may mean, most likely first: case and spaces
    forgiven ("req 1003", "REQ - 1003" → "REQ-1003"), and digits alone also read without their
    leading zeros or completed with the prefix of the policy's example ("1003" → "REQ-1003"). Only
    numbers of the policy's pattern; an integration sends the exact number and gets no such help
    (`check_request_number`)."""
    text = " ".join(typed.split()).upper()
    forms = [typed.strip(), text, text.replace(" - ", "-").replace(" -", "-").replace("- ", "-"), text.replace(" ", "-"),
             text.replace(" ", "")]
    if text.isdigit():
        forms.append(text.lstrip("0") or "0")  # GLPI's #0001042 is ticket 1042
        prefix = _example_prefix(policy.request_number_example)
        if prefix:
            forms.append(prefix + text)
    found: list[str] = []
    for number in forms:
        if len(number) <= REQUEST_NUMBER_MAX and number not in found and policy.is_request_number(number):
            found.append(number)
    return tuple(found)


def _example_prefix(example: str) -> str:
    """'REQ-1042' → 'REQ-': what comes before the example's last digits."""
    digits = len(example) - len(example.rstrip("0123456789"))
    return example[:-digits] if 0 < digits < len(example) else ""


def check_priority(policy: Policy, value: object) -> str:
    if isinstance(value, str) and value in policy.priorities:  # a list is no key either
        return value
    known = ", ".join(policy.priorities)
    raise FactsError("unknown_priority", _("Priorité inconnue « {value} » (attendu : {expected}).").format(
        value=value, expected=known), "priority")


def check_track(policy: Policy, value: object) -> str:
    if isinstance(value, str) and value in policy.tracks:
        return value
    known = ", ".join(policy.tracks)
    raise FactsError("unknown_track", _("Filière inconnue « {value} » (attendu : {expected}).").format(
        value=value, expected=known), "track")


def instant_of(value: object, field: str) -> datetime:
    """An instant as text (ISO-8601 with offset) or as an aware datetime, in UTC; never a naive one."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise FactsError("naive_instant", _("« {field} » n'indique pas de décalage horaire.").format(field=field),
                             field)
        try:
            instant = value.astimezone(UTC)
        except OverflowError:
            raise _out_of_range(field, value) from None
        if not EARLIEST <= instant < LATEST:
            raise _out_of_range(field, value)
        return instant
    return parse_instant(value, field)


def check_opened(value: object, at: datetime) -> datetime:
    """`opened_at` is required and not after the evaluation instant (for the service: now)."""
    if value is None:
        raise FactsError("missing_opened_at", _("La date d'ouverture « opened_at » est obligatoire."), "opened_at")
    opened = parse_instant(value, "opened_at") if type(value) is str else instant_of(value, "opened_at")
    if opened > at:
        raise FactsError(
            "opened_after_evaluation",
            _("L'incident est ouvert après l'instant d'évaluation."),
            "opened_at",
        )
    return opened


def _stop_message(field: str) -> str:
    if field == "acknowledged_at":
        return _("La prise en charge « acknowledged_at » précède l'ouverture de l'incident.")
    return _("La résolution « resolved_at » précède l'ouverture de l'incident.")


def check_stop(value: object, opened: datetime, field: str) -> datetime | None:
    """`acknowledged_at` or `resolved_at`: optional, never before the opening."""
    if value is None:
        return None
    instant = parse_instant(value, field) if type(value) is str else instant_of(value, field)
    if instant < opened:
        raise FactsError(f"{field.removesuffix('_at')}_before_opened", _stop_message(field), field)
    return instant


def facts_from_json(policy: Policy, raw: object, at: datetime) -> IncidentFacts:
    """The facts of SPEC §2's input object, every one checked (`FactsError` names the field)."""
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise FactsError("invalid_json", _("Chaque incident doit être un objet JSON."))
    get = raw.get
    number = check_request_number(policy, get("request_number"))
    priority = check_priority(policy, get("priority"))
    gtr = get("gtr", False)
    if gtr is None:
        gtr = False
    elif gtr is not True and gtr is not False:
        raise FactsError("invalid_gtr", _("« gtr » doit valoir true ou false."), "gtr")
    track = check_track(policy, get("track") or policy.default_track)
    opened = check_opened(get("opened_at"), at)
    acknowledged = check_stop(get("acknowledged_at"), opened, "acknowledged_at")
    resolved = check_stop(get("resolved_at"), opened, "resolved_at")
    value = get("pauses")
    return IncidentFacts(
        number, priority, opened, gtr, track, acknowledged, resolved,
        () if value is None else pauses_from_json(value, opened),
    )


def pauses_from_json(raw: object, opened: datetime) -> tuple[Pause, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FactsError("invalid_pause", _("« pauses » doit être une liste."), "pauses")
    pauses: list[Pause] = []
    for i, item in enumerate(raw):
        field = f"pauses[{i}]"
        if not isinstance(item, Mapping) or item.get("start") is None:
            raise FactsError("invalid_pause", _("« {field} » doit avoir un début « start ».").format(field=field), field)
        start = parse_instant(item["start"], f"{field}.start")
        end = None if item.get("end") is None else parse_instant(item["end"], f"{field}.end")
        if end is not None and end <= start:
            raise FactsError("invalid_pause", _("« {field} » se termine avant de commencer.").format(field=field), field)
        if start < opened:
            raise FactsError("pause_before_opened", _("« {field} » commence avant l'ouverture.").format(field=field), field)
        pauses.append(Pause(start, end))
    if len(pauses) > 1:
        pauses.sort(key=lambda p: p.start)
    for before, after in itertools.pairwise(pauses):
        if before.end is None or before.end > after.start:
            raise FactsError("overlapping_pauses", _("Deux pauses se chevauchent."), "pauses")
    return tuple(pauses)


def format_instant(instant: datetime | None, tz: tzinfo) -> str | None:
    """ISO-8601 in the policy's zone, to the second (truncated), with its offset."""
    if instant is None:
        return None
    # timespec="seconds" truncates the microseconds, like .replace(microsecond=0).
    return instant.astimezone(tz).isoformat(timespec="seconds")


def whole_minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)


def commitment_json(status: CommitmentStatus | None, tz: tzinfo) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "target_minutes": whole_minutes(status.target),
        "clock": status.clock,
        "due_at": format_instant(status.due_at, tz),
        "stopped_at": format_instant(status.stopped_at, tz),
        "state": status.state.value,
        "overdue_minutes": whole_minutes(status.overdue),
    }


def contact_json(contact: Contact) -> dict[str, Any]:
    return {
        "level": contact.level,
        "name": contact.name,
        "role": contact.role,
        "phones": list(contact.phones),
        "email": contact.email,
    }


def evaluation_json(policy: Policy, evaluation: Evaluation) -> dict[str, Any]:
    tz = policy.timezone
    decision = evaluation.escalation
    return {
        "request_number": evaluation.facts.request_number,
        "priority": evaluation.facts.priority,
        "evaluated_at": format_instant(evaluation.evaluated_at, tz),
        "commitments": {
            "take_charge": commitment_json(evaluation.commitments.take_charge, tz),
            "resolution": commitment_json(evaluation.commitments.resolution, tz),
        },
        "escalation": {
            "allowed": decision.allowed,
            "level": decision.level,
            "reason": decision.reason.value,
            "message": decision.message,
            "eligible_at": format_instant(decision.eligible_at, tz),
            "next_level_at": format_instant(decision.next_level_at, tz),
            "contacts": [contact_json(c) for c in decision.contacts],
        },
    }


def error_json(raw: object, error: FactsError) -> dict[str, Any]:
    return {"request_number": request_number_of(raw), "error": error.message, "code": error.code}
