"""GLPI 11's webhooks (help.glpi-project.org, "Webhook"; `src/Webhook.php`): the default payload is
`{"item": …, "event": "new" | "update" | "delete"}`, `item` being the ticket as the high-level API
shows it (`GET /Assistance/Ticket/{id}`: `id`, `name`, `status {id, name}`, `priority` 1–6,
`entity {id, name, completename}`, `date` (the opening), `date_mod`, `team`), its instants in RFC
3339. Each call is signed: `X-GLPI-signature` is the hex HMAC-SHA256 of the body followed by
`X-GLPI-timestamp`, with the webhook's secret. GLPI retries a failed call with the same body and
headers, so the signature identifies the delivery."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from escalade.sync.snapshot import PayloadError, TicketSnapshot, WebhookConnector, instant

# GLPI's ticket statuses (CommonITILObject): 1 new, 2 processing (assigned), 3 processing (planned),
# 4 pending, 5 solved, 6 closed.
NEW, PENDING = 1, 4
DONE = (5, 6)
STATUSES = (1, 2, 3, 4, 5, 6)
# GLPI's priority: 1 very low … 5 very high, 6 major.
DEFAULT_PRIORITIES = {"6": "high", "5": "high", "4": "high", "3": "medium", "2": "low", "1": "low"}
EVENTS = ("new", "update")


@dataclass(frozen=True)
class GLPISettings:
    secret: str
    number_prefix: str = ""  # GLPI's ticket id is the number customers see ("1042")
    entities: dict[str, str] = field(default_factory=dict)  # entity name → customer code
    priorities: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))


def _assigned(team: object) -> bool:
    return isinstance(team, list) and any(isinstance(m, dict) and m.get("role") == "assigned" for m in team)


def snapshot(payload: Any, settings: GLPISettings) -> TicketSnapshot | None:
    item = payload.get("item") if isinstance(payload, dict) else None
    if not isinstance(item, dict) or not isinstance(payload.get("event"), str):
        raise PayloadError("Corps attendu : le corps par défaut d'un webhook GLPI (« event » et l'objet « item »).")
    if payload["event"] not in EVENTS:  # a deleted ticket: Escalade keeps the incident's history
        return None
    for key in ("id", "status", "priority", "entity", "date", "date_mod"):
        if item.get(key) in (None, ""):
            raise PayloadError(f"item.{key} manque : ce n'est pas un ticket GLPI de l'API (Assistance/Ticket).")
    status = item["status"].get("id") if isinstance(item["status"], dict) else None
    if status not in STATUSES:
        raise PayloadError(f"item.status.id « {status} » : statut de ticket GLPI inconnu (1 à 6).")
    priority = str(item["priority"])
    if priority not in settings.priorities:
        raise PayloadError(f"item.priority « {priority} » : priorité sans correspondance "
                           f"(connues : {', '.join(sorted(settings.priorities))}).")
    entity = item["entity"] if isinstance(item["entity"], dict) else {}
    name = str(entity.get("name") or "")
    if not isinstance(item["id"], int) or isinstance(item["id"], bool) or not name:
        raise PayloadError("item.id (entier) et item.entity.name sont attendus.")
    return TicketSnapshot(
        request_number=f"{settings.number_prefix}{item['id']}",
        customer=settings.entities.get(name, settings.entities.get(str(entity.get("completename", "")), name)),
        priority=settings.priorities[priority],
        title=str(item.get("name") or "")[:300],
        opened_at=instant(item["date"], "item.date"),
        changed_at=instant(item["date_mod"], "item.date_mod"),
        taken=status != NEW or _assigned(item.get("team")),
        waiting=status == PENDING,
        done=status in DONE,
    )


class GLPI(WebhookConnector):
    name, product, credential = "glpi", "GLPI", "Signature X-GLPI-signature absente ou invalide"
    settings: GLPISettings

    def verified(self, body: bytes, headers: Mapping[str, str]) -> bool:
        timestamp = headers.get("X-GLPI-timestamp", "").strip()
        expected = hmac.new(self.settings.secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
        given = headers.get("X-GLPI-signature", "").strip()
        return bool(self.settings.secret and timestamp) and hmac.compare_digest(expected.encode(), given.encode())

    def snapshot(self, payload: Any) -> TicketSnapshot | None:
        return snapshot(payload, self.settings)

    def delivery_key(self, headers: Mapping[str, str], body: bytes) -> str:
        return headers.get("X-GLPI-signature", "").strip()  # verified: the body and its timestamp

