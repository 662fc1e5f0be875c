"""iTop's webhook actions (Combodo's "Webhook integrations": a Remote application connection and a
"Webhook" action on a trigger): the administrator writes the JSON payload with iTop's placeholders,
so Escalade publishes the one to paste (docs/helpdesks.md), made of the Incident class's own
attributes (datamodel itop-incident-mgmt-itil): `ref` (I-000123), `status` (new, escalated_tto,
assigned, escalated_ttr, waiting_for_approval, pending, resolved, closed), `priority` (1 critical …
4 low), `org_name`, `title`, `start_date`, `last_update`, `agent_id`. A placeholder without a verb
(`$this->status$`) gives the plain, unlocalised value; iTop writes instants as "2026-12-03 10:45:00"
in its own time zone, which the connector's settings name. iTop does not sign its calls: the
connection sends `Authorization: Bearer <token>` as a custom header."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from escalade.sync.snapshot import PayloadError, TicketSnapshot, WebhookConnector

TAKEN = ("assigned", "escalated_ttr", "waiting_for_approval", "pending", "resolved", "closed")
STATUSES = ("new", "escalated_tto", *TAKEN)
DEFAULT_PRIORITIES = {"1": "high", "2": "high", "3": "medium", "4": "low"}
FIELDS = ("ref", "status", "priority", "org_name", "start_date", "last_update")


@dataclass(frozen=True)
class ITopSettings:
    token: str
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    organisations: dict[str, str] = field(default_factory=dict)  # organisation name → customer code
    priorities: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))


def _instant(value: object, name: str, zone: ZoneInfo) -> datetime:
    """iTop's "2026-12-03 10:45:00" in its configured zone, or an instant with its offset."""
    try:
        found = datetime.fromisoformat(str(value))
    except ValueError:
        raise PayloadError(f"{name} : instant « AAAA-MM-JJ HH:MM:SS » attendu, reçu « {value} ».") from None
    if found.tzinfo is None:
        found = found.replace(tzinfo=zone)  # the connector's setting says which zone iTop writes in
    return found.astimezone(UTC)


def snapshot(payload: Any, settings: ITopSettings) -> TicketSnapshot:
    if not isinstance(payload, dict):
        raise PayloadError("Corps attendu : l'objet JSON du modèle de charge utile iTop (docs/helpdesks.md).")
    for key in FIELDS:
        if not isinstance(payload.get(key), str) or not payload[key].strip():
            raise PayloadError(f"{key} manque : ce n'est pas le modèle de charge utile iTop d'Escalade.")
    status, priority = payload["status"].strip(), payload["priority"].strip()
    if status not in STATUSES:
        raise PayloadError(f"status « {status} » : statut d'incident iTop inconnu ({', '.join(STATUSES)}).")
    if priority not in settings.priorities:
        raise PayloadError(f"priority « {priority} » : priorité sans correspondance "
                           f"(connues : {', '.join(sorted(settings.priorities))}).")
    organisation = payload["org_name"].strip()
    agent = str(payload.get("agent_id") or "0").strip()
    return TicketSnapshot(
        request_number=payload["ref"].strip(),
        customer=settings.organisations.get(organisation, organisation),
        priority=settings.priorities[priority],
        title=str(payload.get("title") or "")[:300],
        opened_at=_instant(payload["start_date"], "start_date", settings.timezone),
        changed_at=_instant(payload["last_update"], "last_update", settings.timezone),
        taken=status in TAKEN or agent not in ("", "0"),
        waiting=status == "pending",
        done=status in ("resolved", "closed"),
    )


class ITop(WebhookConnector):
    name, product, credential = "itop", "iTop", "Jeton Authorization: Bearer absent ou invalide"
    settings: ITopSettings

    def verified(self, body: bytes, headers: Mapping[str, str]) -> bool:
        given = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return bool(self.settings.token) and hmac.compare_digest(given.encode(), self.settings.token.encode())

    def snapshot(self, payload: Any) -> TicketSnapshot | None:
        return snapshot(payload, self.settings)
    # each change has its own last_update: the same body is the same call (the default delivery key)

