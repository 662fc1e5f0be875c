"""Zammad's trigger webhooks (admin-docs.zammad.org, "Webhook Payload"): the default payload carries
the ticket as it is now, signed with HMAC-SHA1 in `X-Hub-Signature` when the webhook has a token;
`X-Zammad-Delivery` identifies the call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from escalade.sync.snapshot import (
    HubSignatureConnector,
    PayloadError,
    TicketSnapshot,
    instant,
)

WAITING = ("pending reminder", "pending close")
DONE = ("closed", "merged")
DEFAULT_PRIORITIES = {"1 low": "low", "2 normal": "medium", "3 high": "high"}


@dataclass(frozen=True)
class ZammadSettings:
    secret: str
    number_prefix: str = "ZAM-"
    organisations: dict[str, str] = field(default_factory=dict)  # organisation name → customer code
    priorities: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))


def _name(value: object) -> str:
    """Zammad sends related objects expanded ({"name": …}) or as their name."""
    return str(value.get("name", "")) if isinstance(value, dict) else str(value or "")


def snapshot(payload: Any, settings: ZammadSettings) -> TicketSnapshot:
    ticket = payload.get("ticket") if isinstance(payload, dict) else None
    if not isinstance(ticket, dict):
        raise PayloadError("Corps attendu : l'objet « ticket » du webhook Zammad.")
    for key in ("number", "state", "created_at", "updated_at", "priority"):
        if ticket.get(key) in (None, ""):
            raise PayloadError(f"ticket.{key} manque : ce n'est pas le corps par défaut d'un webhook Zammad.")
    organisation = _name(ticket.get("organization"))
    priority_name = _name(ticket["priority"])
    if priority_name not in settings.priorities:
        raise PayloadError(f"ticket.priority « {priority_name} » : priorité sans correspondance "
                           f"(connues : {', '.join(settings.priorities)}).")
    state = _name(ticket["state"])
    owner = ticket.get("owner_id")
    return TicketSnapshot(
        request_number=f"{settings.number_prefix}{ticket['number']}",
        customer=settings.organisations.get(organisation, organisation),
        priority=settings.priorities[priority_name],
        title=str(ticket.get("title") or "")[:300],
        opened_at=instant(ticket["created_at"], "ticket.created_at"),
        changed_at=instant(ticket["updated_at"], "ticket.updated_at"),
        taken=state != "new" or (isinstance(owner, int) and owner > 1),  # owner 1: Zammad's "-" (nobody)
        waiting=state in WAITING,
        done=state in DONE,
    )


class Zammad(HubSignatureConnector):
    name, product, algorithm, delivery_header = "zammad", "Zammad", "sha1", "X-Zammad-Delivery"
    settings: ZammadSettings

    def snapshot(self, payload: Any) -> TicketSnapshot | None:
        return snapshot(payload, self.settings)
