"""Checks of incident input (Zulip's `check_*`): what a write may contain, before anything changes.

The facts themselves are checked by the core (`core.contract`: one set of codes and French
messages for the evaluate command, the API, the pages and the import), wrapped once here as the
service's error; who may set which fact is `accounts.permissions`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.utils.translation import gettext as _

from escalade.accounts.models import User
from escalade.accounts.permissions import check_may_set_facts
from escalade.core.contract import (
    FactsError,
    check_opened,
    check_priority,
    check_request_number,
    check_stop,
    check_track,
    instant_of,
)
from escalade.core.policy import Policy
from escalade.errors import ServiceError
from escalade.incidents.models import Customer, Incident
from escalade.policies import store


def service_error(exc: FactsError) -> ServiceError:
    """The core's refusal as the service's error (422, the same code, message and field)."""
    return ServiceError(exc.code, exc.message, field=exc.field)


@dataclass(frozen=True)
class IncidentInput:
    request_number: object
    customer: str
    priority: str
    opened_at: object
    track: str | None = None
    gtr: bool | None = None
    acknowledged_at: object = None
    resolved_at: object = None
    title: str | None = None


TITLE_MAX = Incident._meta.get_field("title").max_length or 300


def _check(
    data: IncidentInput, now: datetime, declared: bool, policy: Policy
) -> tuple[str, datetime, datetime | None, datetime | None]:
    """The core's checks of incident facts (one set of codes and messages for the evaluate command,
    the API, the pages and the import), wrapped once as the service's error.

    A declaration (a customer's or partner's write) may leave out its number (Escalade gives one)
    and its opening: its clocks start when Escalade receives it, `now`. `policy` is the customer's."""
    try:
        if declared and data.request_number is None:
            number = ""
        else:
            number = check_request_number(policy, data.request_number)
        check_priority(policy, data.priority)
        if data.track is not None:
            check_track(policy, data.track)
        if declared:  # taking charge and resolving are staff's: refused as such (403) further on
            opened = now
            acknowledged = None if data.acknowledged_at is None else instant_of(data.acknowledged_at, "acknowledged_at")
            resolved = None if data.resolved_at is None else instant_of(data.resolved_at, "resolved_at")
        else:
            opened = check_opened(data.opened_at, now)
            acknowledged = check_stop(data.acknowledged_at, opened, "acknowledged_at")
            resolved = check_stop(data.resolved_at, opened, "resolved_at")
    except FactsError as exc:
        raise service_error(exc) from None
    if data.title is not None and len(data.title) > TITLE_MAX:
        raise ServiceError("title_too_long", _("Le titre dépasse {limit} caractères.").format(limit=TITLE_MAX), field="title")
    return number, opened, acknowledged, resolved


@dataclass(frozen=True)
class CheckedInput:
    """An IncidentInput whose values passed `check_incident_input`."""

    data: IncidentInput
    request_number: str  # "" for a declaration that Escalade numbers
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    # What a declarant says about when the problem began (information; the clocks start at reception).
    reported_started_at: datetime | None = None


def check_incident_input(data: IncidentInput, now: datetime, *, declared: bool = False,
                         policy: Policy | None = None) -> CheckedInput:
    """`policy`: the customer's contract's (its priorities and tracks); the default one when None."""
    checked = CheckedInput(data, *_check(data, now, declared, policy or store.default_policy()))
    if declared and data.opened_at is not None:
        try:
            reported = check_opened(data.opened_at, now)
        except FactsError as exc:
            raise service_error(exc) from None
        checked = replace(checked, reported_started_at=reported)
    return checked


def check_customer_write(user: User | None, checked: CheckedInput, incident: Incident | None, customer: Customer) -> None:
    """The facts this write would set or change, for `check_may_set_facts` (403 for customers and
    partners on the facts reserved to staff)."""
    data = checked.data
    if incident is None:
        wanted = {
            "acknowledged_at": checked.acknowledged_at is not None,
            "resolved_at": checked.resolved_at is not None,
            "gtr": data.gtr is not None and data.gtr != customer.gtr,
        }
    else:
        wanted = {
            "priority": data.priority != incident.priority,
            "track": data.track is not None and data.track != incident.track,
            "gtr": data.gtr is not None and data.gtr != incident.gtr,
            "opened_at": checked.opened_at != incident.opened_at,
            "acknowledged_at": checked.acknowledged_at is not None
            and checked.acknowledged_at != incident.acknowledged_at,
            "resolved_at": checked.resolved_at is not None and checked.resolved_at != incident.resolved_at,
        }
    check_may_set_facts(user, [field for field, changed in wanted.items() if changed])
