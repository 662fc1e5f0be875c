"""The evaluation contract of SPEC §2: JSON-shaped facts in, JSON-shaped evaluation out.

Parsing checks every fact and fails with a stable `code` and a French message; nothing is assumed
(an instant without an offset is an error, never read as local time).
"""

from __future__ import annotations

import itertools
import json
import json.encoder
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from escalade.core.escalation import Evaluation, Reason
from escalade.core.frozen import fast_constructor
from escalade.core.policy import Contact, Policy
from escalade.core.sla import CommitmentStatus, IncidentFacts, Pause, State


class FactsError(ValueError):
    """Facts that cannot be evaluated: `code` for programs, `message` in French for people."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def parse_instant(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise FactsError("invalid_instant", f"« {field} » doit être une date ISO-8601 avec décalage.", field)
    try:
        instant = _fromisoformat(value)
    except ValueError:
        raise FactsError(
            "invalid_instant", f"« {field} » n'est pas une date ISO-8601 valide : « {value} ».", field
        ) from None
    zone = instant.tzinfo
    if zone is UTC:  # 'Z' or '+00:00'
        return instant
    if zone is None or instant.utcoffset() is None:
        raise FactsError(
            "naive_instant",
            f"« {field} » n'indique pas de décalage horaire (par exemple +01:00 ou Z) : « {value} ».",
            field,
        )
    return instant.astimezone(UTC)


_fromisoformat = datetime.fromisoformat


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


def check_request_number(policy: Policy, value: object) -> str:
    if isinstance(value, str):
        number = value.strip()
        if number and policy.request_number_pattern.fullmatch(number) is not None:
            return number
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FactsError(
            "request_number_required",
            "Le numéro de requête de l'incident est obligatoire.",
            "request_number",
        )
    example = policy.request_number_example
    hint = f" (exemple : {example})" if example else ""
    raise FactsError(
        "invalid_request_number",
        f"« {value} » n'est pas un numéro de requête valide{hint}.",
        "request_number",
    )


def check_priority(policy: Policy, value: object) -> str:
    if isinstance(value, str) and value in policy.priorities:  # a list is no key either
        return value
    known = ", ".join(policy.priorities)
    raise FactsError("unknown_priority", f"Priorité inconnue « {value} » (attendu : {known}).", "priority")


def check_track(policy: Policy, value: object) -> str:
    if isinstance(value, str) and value in policy.tracks:
        return value
    known = ", ".join(policy.tracks)
    raise FactsError("unknown_track", f"Filière inconnue « {value} » (attendu : {known}).", "track")


def facts_from_json(policy: Policy, raw: object, at: datetime) -> IncidentFacts:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise FactsError("invalid_json", "Chaque incident doit être un objet JSON.")
    get = raw.get
    number = check_request_number(policy, get("request_number"))
    priority = check_priority(policy, get("priority"))
    gtr = get("gtr", False)
    if gtr is None:
        gtr = False
    elif gtr is not True and gtr is not False:
        raise FactsError("invalid_gtr", "« gtr » doit valoir true ou false.", "gtr")
    track = check_track(policy, get("track") or policy.default_track)
    value = get("opened_at")
    if value is None:
        raise FactsError("missing_opened_at", "La date d'ouverture « opened_at » est obligatoire.", "opened_at")
    opened = parse_instant(value, "opened_at")
    if opened > at:
        raise FactsError(
            "opened_after_evaluation",
            "L'incident est ouvert après l'instant d'évaluation.",
            "opened_at",
        )
    value = get("acknowledged_at")
    acknowledged = None if value is None else parse_instant(value, "acknowledged_at")
    if acknowledged is not None and acknowledged < opened:
        raise FactsError(
            "acknowledged_before_opened",
            "La prise en charge « acknowledged_at » précède l'ouverture de l'incident.",
            "acknowledged_at",
        )
    value = get("resolved_at")
    resolved = None if value is None else parse_instant(value, "resolved_at")
    if resolved is not None and resolved < opened:
        raise FactsError(
            "resolved_before_opened",
            "La résolution « resolved_at » précède l'ouverture de l'incident.",
            "resolved_at",
        )
    value = get("pauses")
    # == IncidentFacts(request_number=number, …, pauses=…), without the frozen dataclass's setattrs
    return _facts(
        number, priority, opened, gtr, track, acknowledged, resolved,
        () if value is None else pauses_from_json(value, opened),
    )


_facts = fast_constructor(IncidentFacts)
_pause = fast_constructor(Pause)


def pauses_from_json(raw: object, opened: datetime) -> tuple[Pause, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FactsError("invalid_pause", "« pauses » doit être une liste.", "pauses")
    pauses: list[Pause] = []
    for i, item in enumerate(raw):
        field = f"pauses[{i}]"
        if not isinstance(item, Mapping) or item.get("start") is None:
            raise FactsError("invalid_pause", f"« {field} » doit avoir un début « start ».", field)
        start = parse_instant(item["start"], f"{field}.start")
        end = None if item.get("end") is None else parse_instant(item["end"], f"{field}.end")
        if end is not None and end <= start:
            raise FactsError("invalid_pause", f"« {field} » se termine avant de commencer.", field)
        if start < opened:
            raise FactsError("pause_before_opened", f"« {field} » commence avant l'ouverture.", field)
        pauses.append(_pause(start, end))
    if len(pauses) > 1:
        pauses.sort(key=lambda p: p.start)
    for before, after in itertools.pairwise(pauses):
        if before.end is None or before.end > after.start:
            raise FactsError("overlapping_pauses", "Deux pauses se chevauchent.", "pauses")
    return tuple(pauses)


_ISO_CACHE: dict[tzinfo, dict[datetime, str]] = {}
_ISO_CACHE_MAX = 1 << 16


def format_instant(instant: datetime | None, tz: tzinfo) -> str | None:
    """ISO-8601 in the policy's zone, to the second (truncated), with its offset.

    Memoized for UTC instants (the core's own), per zone and bounded: a stream of incidents
    formats the same evaluation instant and the same business deadlines over and over.
    """
    if instant is None:
        return None
    if instant.tzinfo is not UTC:  # equal wall-clock times in one zone may be different instants
        return instant.astimezone(tz).isoformat(timespec="seconds")
    cache = _ISO_CACHE.get(tz)
    if cache is None:
        cache = _ISO_CACHE.setdefault(tz, {})
    text = cache.get(instant)
    if text is None:
        if len(cache) >= _ISO_CACHE_MAX:
            cache.clear()
        # timespec="seconds" truncates the microseconds, like .replace(microsecond=0).
        text = cache[instant] = instant.astimezone(tz).isoformat(timespec="seconds")
    return text


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


# -- the same evaluation as one JSON text, fast: what `escalade evaluate` writes per line --------

LINE_SEPARATORS = (", ", ": ")
_line_dumps = json.JSONEncoder(ensure_ascii=False, separators=LINE_SEPARATORS).encode
_string = json.encoder.encode_basestring  # what the encoder above uses for str (ensure_ascii=False)


def dumps_line(value: object) -> str:
    """JSON text as `escalade evaluate` writes it (no ASCII escaping, ', ' and ': ' separators)."""
    return _line_dumps(value)


# What the line writer below reuses: JSON texts of instants (per zone, UTC instants only, bounded;
# `None` is "null"), of the start of a commitment per (target, clock), of states and reasons, and of
# contact lists (by identity: `Policy.contacts_for` answers the same tuple for a level and track).
_INSTANT_TEXTS: dict[tzinfo, dict[datetime | None, str]] = {}
_INSTANT_TEXTS_MAX = 1 << 16
_COMMITMENT_HEADS: dict[tuple[timedelta, str], str] = {}
_STATE_TEXTS = {state: _string(state.value) for state in State}
_REASON_TEXTS = {reason: _string(reason.value) for reason in Reason}
_CONTACTS_TEXTS: dict[int, tuple[tuple[Contact, ...], str]] = {}


def _instant_texts(tz: tzinfo) -> dict[datetime | None, str]:
    texts = _INSTANT_TEXTS.get(tz)
    if texts is None or len(texts) >= _INSTANT_TEXTS_MAX:
        texts = _INSTANT_TEXTS[tz] = {None: "null"}
    return texts


def _instant_text(texts: dict[datetime | None, str], instant: datetime | None, tz: tzinfo) -> str:
    """JSON text of `format_instant(instant, tz)`; `texts` is `_instant_texts(tz)`."""
    text = texts.get(instant)
    if text is None:
        assert instant is not None  # None is always in `texts`
        text = _string(instant.astimezone(tz).isoformat(timespec="seconds"))
        if instant.tzinfo is UTC:  # equal wall-clock times in one zone may be different instants
            texts[instant] = text
    return text


def _commitment_head(status: CommitmentStatus) -> str:
    key = (status.target, status.clock)
    head = _COMMITMENT_HEADS.get(key)
    if head is None:
        if len(_COMMITMENT_HEADS) >= 1024:
            _COMMITMENT_HEADS.clear()
        head = _COMMITMENT_HEADS[key] = (
            f'{{"target_minutes": {whole_minutes(status.target)}, "clock": {_string(status.clock)}, "due_at": '
        )
    return head


def _commitment_text(
    status: CommitmentStatus | None, tz: tzinfo, texts: dict[datetime | None, str]
) -> str:
    if status is None:
        return "null"
    overdue = status.overdue
    state = status.state
    return (
        f"{_COMMITMENT_HEADS.get((status.target, status.clock)) or _commitment_head(status)}"
        f"{texts.get(status.due_at) or _instant_text(texts, status.due_at, tz)}, "
        f'"stopped_at": {texts.get(status.stopped_at) or _instant_text(texts, status.stopped_at, tz)}, '
        f'"state": {_STATE_TEXTS.get(state) or _string(state.value)}, '
        f'"overdue_minutes": {whole_minutes(overdue) if overdue else 0}}}'
    )


def _contacts_text(contacts: tuple[Contact, ...]) -> str:
    if not contacts:
        return "[]"
    entry = _CONTACTS_TEXTS.get(id(contacts))
    if entry is not None and entry[0] is contacts:
        return entry[1]
    text = _line_dumps([contact_json(c) for c in contacts])
    if len(_CONTACTS_TEXTS) >= 256:
        _CONTACTS_TEXTS.clear()
    _CONTACTS_TEXTS[id(contacts)] = (contacts, text)  # keeps `contacts` alive: its id is not reused
    return text


def evaluation_line(policy: Policy, evaluation: Evaluation) -> str:
    """Exactly `dumps_line(evaluation_json(policy, evaluation))`, several times faster: the text is
    written directly, strings escaped by the encoder's own function. Keep both in step."""
    tz = policy.timezone
    texts = _instant_texts(tz)
    decision = evaluation.escalation
    commitments = evaluation.commitments
    facts = evaluation.facts
    reason = decision.reason
    return (
        f'{{"request_number": {_string(facts.request_number)}, '
        f'"priority": {_string(facts.priority)}, '
        f'"evaluated_at": {_instant_text(texts, evaluation.evaluated_at, tz)}, '
        f'"commitments": {{"take_charge": {_commitment_text(commitments.take_charge, tz, texts)}, '
        f'"resolution": {_commitment_text(commitments.resolution, tz, texts)}}}, '
        f'"escalation": {{"allowed": {"true" if decision.allowed else "false"}, '
        f'"level": {int(decision.level)}, "reason": {_REASON_TEXTS.get(reason) or _string(reason.value)}, '
        f'"message": {_string(decision.message)}, '
        f'"eligible_at": {texts.get(decision.eligible_at) or _instant_text(texts, decision.eligible_at, tz)}, '
        f'"next_level_at": '
        f"{texts.get(decision.next_level_at) or _instant_text(texts, decision.next_level_at, tz)}, "
        f'"contacts": {_contacts_text(decision.contacts)}}}}}'
    )


def error_json(raw: object, error: FactsError) -> dict[str, Any]:
    return {"request_number": request_number_of(raw), "error": error.message, "code": error.code}
