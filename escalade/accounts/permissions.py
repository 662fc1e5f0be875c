"""Who may do what: the one place that answers "may this user do this to this incident".

Scope (which incidents and customers a user sees at all) is `Incident.objects.visible_to(user)` and
`Customer.objects.visible_to(user)`, built on `sees_everything` and `scope_of` below; out of scope
is a 404 exactly like unknown. Inside their scope, customers and partners declare incidents, escalate
them through the portal or the API, resume a pause and reopen; the provider's staff own the facts
that move the clocks and the acts of the provider. `user` None is the system itself (the worker, an
integration), which acts as an internal resource.
"""

from __future__ import annotations

from typing import Protocol

from django.utils.translation import gettext as _

from escalade.accounts.models import Role
from escalade.errors import ServiceError
from escalade.policies import store

# Facts that move the clocks or the commitments: taking charge, resolution, priority, GTR, the
# opening instant, the track. A customer's or partner's declaration leaves them to staff.
RESERVED_FIELDS = ("priority", "track", "gtr", "opened_at", "acknowledged_at", "resolved_at")
# "The information was sent" and "it is not fixed": the events customers and partners may record.
CUSTOMER_EVENTS = ("resume", "reopen")
# The channels through which customers and partners escalate themselves; any other (a phone call,
# an e-mail received, the system) is recorded by staff, as is asking on someone else's behalf.
CUSTOMER_CHANNELS = ("api", "web")


class Actor(Protocol):
    role: str
    customer_id: int | None
    partner_id: int | None
    is_active: bool

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def is_internal(self) -> bool: ...


def is_internal(user: Actor | None) -> bool:
    """The system, or the provider's own people ("ressource interne", `User.is_internal`)."""
    return user is None or user.is_internal


def sees_everything(user: Actor | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active and is_internal(user)


def scope_of(user: Actor | None) -> tuple[str, int] | None:
    """("customer", id) or ("partner", id) for a customer or partner account; None for no scope
    (anonymous, inactive, unbound) or for staff (who see everything: see `sees_everything`)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.role == Role.CUSTOMER and user.customer_id:
        return ("customer", user.customer_id)
    if user.role == Role.PARTNER and user.partner_id:
        return ("partner", user.partner_id)
    return None


def _staff_only(code: str, what: str, **extra: object) -> ServiceError:
    team = store.default_policy().organisation
    return ServiceError(code, _("Seule l'équipe {team} peut {action}.").format(team=team, action=what),
                        status=403, **extra)


def check_may_set_facts(user: Actor | None, fields: list[str]) -> None:
    """403 when a customer or partner would set or change facts reserved to staff."""
    reserved = [f for f in RESERVED_FIELDS if f in fields]
    if reserved and not is_internal(user):
        names = ", ".join(f"« {f} »" for f in reserved)
        raise _staff_only("reserved_to_staff", _("fixer ou modifier {names} d'un incident").format(names=names),
                          fields=reserved)


def check_may_record_event(user: Actor | None, kind: str) -> None:
    if is_internal(user) or kind in CUSTOMER_EVENTS:
        return
    raise _staff_only(
        "event_reserved_to_staff",
        _("enregistrer l'événement « {kind} » ; un client ou un partenaire peut seulement reprendre "
          "(resume) ou rouvrir (reopen) un incident").format(kind=kind),
    )


def check_may_escalate_through(
    user: Actor | None, channel: str, on_behalf_of: str = "", *, sender_verified: bool = False
) -> None:
    """A customer or partner asks for itself, through the portal or the API, or by writing to the
    procedure's address from its own address (`sender_verified`: DMARC passed or the confirmation
    link followed); staff record what came by phone or e-mail, possibly for someone else."""
    if is_internal(user):
        return
    if channel == "email" and sender_verified and not on_behalf_of:
        return
    if channel == "phone":
        raise _staff_only("phone_requires_staff", _("enregistrer une escalade reçue par téléphone"))
    if channel not in CUSTOMER_CHANNELS:
        raise _staff_only("channel_reserved_to_staff", _("enregistrer une escalade reçue par le canal « {channel} »").format(channel=channel))
    if on_behalf_of:
        raise _staff_only("on_behalf_reserved_to_staff", _("enregistrer une escalade pour le compte d'un tiers"))


def check_may_acknowledge(user: Actor | None) -> None:
    """Customers and partners may see their escalations but only the provider acknowledges them."""
    if not is_internal(user):
        raise _staff_only("acknowledge_requires_staff", _("prendre en compte une escalade"))
