"""One answer line of `escalade evaluate`, fast.

`evaluation_line(policy, e)` is exactly `dumps_line(core.contract.evaluation_json(policy, e))`,
written directly as text with the JSON encoder's own string escaping, reusing the texts that a
stream repeats (the evaluation instant, business deadlines, commitment heads, contact lists).
`tests/evaluate/test_lines.py` holds the two in step on thousands of incidents.
"""

from __future__ import annotations

import json
import json.encoder
from datetime import UTC, datetime, timedelta, tzinfo

from escalade.core.contract import contact_json, whole_minutes
from escalade.core.escalation import Evaluation, Reason
from escalade.core.policy import Contact, Policy
from escalade.core.sla import CommitmentStatus, State

LINE_SEPARATORS = (", ", ": ")
_line_dumps = json.JSONEncoder(ensure_ascii=False, separators=LINE_SEPARATORS).encode
_string = json.encoder.encode_basestring  # what the encoder above uses for str (ensure_ascii=False)


def dumps_line(value: object) -> str:
    """JSON text as `escalade evaluate` writes it (no ASCII escaping, ', ' and ': ' separators)."""
    return _line_dumps(value)


# JSON texts of instants (per zone, UTC instants only, bounded; `None` is "null"), of the start of a
# commitment per (target, clock), of states and reasons, and of contact lists (by identity:
# `Policy.contacts_for` answers the same tuple for a level and track).
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
    # One unpacking instead of a named read per field (the values are tuples).
    _kind, target, clock, due_at, stopped_at, state, overdue, _excluded = status
    return (
        f"{_COMMITMENT_HEADS.get((target, clock)) or _commitment_head(status)}"
        f"{texts.get(due_at) or _instant_text(texts, due_at, tz)}, "
        f'"stopped_at": {texts.get(stopped_at) or _instant_text(texts, stopped_at, tz)}, '
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
    """Exactly `dumps_line(evaluation_json(policy, evaluation))`, several times faster."""
    tz = policy.timezone
    texts = _instant_texts(tz)
    facts, evaluated_at, (take_charge, resolution), decision = evaluation
    allowed, level, reason, message, eligible_at, next_level_at, contacts = decision
    return (
        f'{{"request_number": {_string(facts.request_number)}, '
        f'"priority": {_string(facts.priority)}, '
        f'"evaluated_at": {_instant_text(texts, evaluated_at, tz)}, '
        f'"commitments": {{"take_charge": {_commitment_text(take_charge, tz, texts)}, '
        f'"resolution": {_commitment_text(resolution, tz, texts)}}}, '
        f'"escalation": {{"allowed": {"true" if allowed else "false"}, '
        f'"level": {int(level)}, "reason": {_REASON_TEXTS.get(reason) or _string(reason.value)}, '
        f'"message": {_string(message)}, '
        f'"eligible_at": {texts.get(eligible_at) or _instant_text(texts, eligible_at, tz)}, '
        f'"next_level_at": '
        f"{texts.get(next_level_at) or _instant_text(texts, next_level_at, tz)}, "
        f'"contacts": {_contacts_text(contacts)}}}}}'
    )
