"""From the core's evaluation to what a page shows: labels, clocks, contacts with tel: links."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from escalade.core.calendar import BusinessCalendar
from escalade.core.escalation import Evaluation
from escalade.core.policy import Contact, Policy
from escalade.core.render import national_phone
from escalade.core.sla import CommitmentStatus
from escalade.incidents.models import CommitmentState, Incident
from escalade.policies import store


def commitment_label(kind: str) -> str:
    return {"take_charge": _("Prise en charge"), "resolution": _("Résolution")}.get(kind, kind)


def priority_label(priority: str, policy: Policy | None = None) -> str:
    """The policy's own label ("élevé"), as the policy writes it in every language: the incident's
    policy's when given, else the first policy in force that knows the key."""
    for candidate in (policy,) if policy is not None else store.policies_in_force():
        rule = candidate.priorities.get(priority)
        if rule is not None:
            return rule.label
    return priority


def state_label(state: str) -> str:
    try:
        return str(CommitmentState(state).label)
    except ValueError:
        return state


def clock_label(policy: Policy, clock: str) -> str:
    if clock == "24/7":
        return _("24/7")
    calendar = policy.calendars.get(clock)
    return _("heures et jours ouvrés") if calendar is not None else clock


@dataclass(frozen=True)
class Phone:
    tel: str  # E.164, for tel: links
    display: str


@dataclass(frozen=True)
class ContactView:
    level: int
    name: str
    role: str
    team: str
    phones: tuple[Phone, ...]
    email: str


def contact_view(policy: Policy, contact: Contact) -> ContactView:
    phones = tuple(Phone(p, national_phone(p, policy.phone_region)) for p in contact.phones)
    return ContactView(contact.level, contact.name, contact.role, contact.team, phones, contact.email)


@dataclass(frozen=True)
class CommitmentView:
    kind: str
    label: str
    target: timedelta
    clock: str
    is_business: bool
    due_at: datetime | None
    stopped_at: datetime | None
    state: str
    state_label: str
    overdue: timedelta

    @property
    def counting(self) -> bool:
        return self.state in ("running", "breached")

    @property
    def exceeded(self) -> bool:
        return self.state in ("breached", "missed")


def commitment_view(policy: Policy, status: CommitmentStatus) -> CommitmentView:
    clock = policy.clock(status.clock)
    return CommitmentView(
        kind=status.kind.value,
        label=commitment_label(status.kind.value),
        target=status.target,
        clock=clock_label(policy, status.clock),
        is_business=clock.is_business,
        due_at=status.due_at,
        stopped_at=status.stopped_at,
        state=status.state.value,
        state_label=state_label(status.state.value),
        overdue=status.overdue,
    )


@dataclass(frozen=True)
class Card:
    incident: Incident
    evaluation: Evaluation
    priority_label: str
    commitments: tuple[CommitmentView, ...]
    no_resolution_commitment: bool
    allowed: bool
    level: int
    reason: str
    message: str
    eligible_at: datetime | None
    next_level_at: datetime | None
    contacts: tuple[ContactView, ...]
    levels: tuple[int, ...] = field(default=())  # the levels that may be asked now
    escalated_level: int = 0
    paused_since: datetime | None = None  # waiting for the customer since
    general_line: tuple[str, Phone] | None = None  # the track's label and phone

    @property
    def never(self) -> bool:
        """Escalation is impossible for good (priority not escalable, incident resolved)."""
        return self.reason in ("priority_not_escalable", "incident_resolved")

    @property
    def eligible_in(self) -> timedelta | None:
        return None if self.eligible_at is None else self.eligible_at - self.evaluation.evaluated_at

    @property
    def next_level_in(self) -> timedelta | None:
        return None if self.next_level_at is None else self.next_level_at - self.evaluation.evaluated_at

    @property
    def refresh_at(self) -> datetime | None:
        """The next instant the card changes by itself (a deadline passes, escalation or a level
        opens): the page fetches it again then (static/web/clocks.js)."""
        at = self.evaluation.evaluated_at
        instants = [c.due_at for c in self.commitments if c.state == "running" and c.due_at is not None]
        instants += [i for i in (self.eligible_at, self.next_level_at) if i is not None]
        return min((i for i in instants if i > at), default=None)

    @property
    def offered_levels(self) -> tuple[int, ...]:
        """The levels the form lists: those not escalated yet."""
        return tuple(n for n in self.levels if n > self.escalated_level)

    @property
    def can_ask(self) -> bool:
        """A level above those already escalated is open: only then is the form offered."""
        return self.allowed and self.level > self.escalated_level

    @property
    def worst_state(self) -> str:
        states = [c.state for c in self.commitments]
        for state in ("breached", "missed", "paused", "running", "met"):
            if state in states:
                return state
        return ""


def card(policy: Policy, incident: Incident, evaluation: Evaluation) -> Card:
    decision = evaluation.escalation
    statuses = evaluation.commitments.all()
    return Card(
        incident=incident,
        evaluation=evaluation,
        priority_label=priority_label(incident.priority, policy),
        commitments=tuple(commitment_view(policy, s) for s in statuses),
        no_resolution_commitment=evaluation.commitments.resolution is None,
        allowed=decision.allowed,
        level=decision.level,
        reason=decision.reason.value,
        message=decision.message,
        eligible_at=decision.eligible_at,
        next_level_at=decision.next_level_at,
        contacts=tuple(contact_view(policy, c) for c in decision.contacts),
        levels=tuple(range(1, decision.level + 1)),
        escalated_level=incident.escalated_level,
        paused_since=next((p.start for p in evaluation.facts.pauses if p.end is None), None),
        general_line=_general_line(policy, incident.track),
    )


def _general_line(policy: Policy, track_key: str) -> tuple[str, Phone] | None:
    track = policy.tracks.get(track_key)
    if track is None:
        return None
    return track.label, Phone(track.phone, national_phone(track.phone, policy.phone_region))


# -- "why this deadline": what a business-time clock counted -----------------------------------


@dataclass(frozen=True)
class CountedDay:
    day: date
    intervals: tuple[tuple[datetime, datetime], ...]
    counted: timedelta


@dataclass(frozen=True)
class SkippedDay:
    day: date
    why: str  # "weekend", "holiday" or "closed"
    name: str


@dataclass(frozen=True)
class Explanation:
    commitment: CommitmentView
    start: datetime
    due_at: datetime
    counted: tuple[CountedDay, ...]
    skipped: tuple[SkippedDay, ...]
    total: timedelta


MAX_EXPLAINED_DAYS = 120


def explain(policy: Policy, status: CommitmentStatus, opened_at: datetime) -> Explanation | None:
    """Opening hours that counted between the opening and the deadline, and the days skipped."""
    clock = policy.clock(status.clock)
    if not isinstance(clock, BusinessCalendar) or status.due_at is None:
        return None
    tz = clock.tz
    start, due = opened_at.astimezone(tz), status.due_at.astimezone(tz)
    if (due.date() - start.date()).days > MAX_EXPLAINED_DAYS:
        return None
    by_day: dict[date, list[tuple[datetime, datetime]]] = {}
    for lo, hi in clock.openings(start, due):
        by_day.setdefault(lo.astimezone(tz).date(), []).append((lo, hi))
    holidays = clock.holidays_of(range(start.year, due.year + 1))
    counted, skipped = [], []
    day = start.date()
    while day <= due.date():
        if day in by_day:
            spans = tuple(by_day[day])
            counted.append(CountedDay(day, spans, sum((hi - lo for lo, hi in spans), timedelta(0))))
        elif day in holidays:
            skipped.append(SkippedDay(day, "holiday", holidays[day]))
        elif day in clock.closed_dates:
            skipped.append(SkippedDay(day, "closed", _("fermeture exceptionnelle")))
        elif not clock.weekly.get(day.weekday()):
            skipped.append(SkippedDay(day, "weekend", _("jour non ouvré")))
        day += timedelta(days=1)
    total = sum((c.counted for c in counted), timedelta(0))
    return Explanation(commitment_view(policy, status), start, due, tuple(counted), tuple(skipped), total)
