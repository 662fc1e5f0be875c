"""Jira Service Management's admin webhooks (developer.atlassian.com, "Webhooks"): `jira:issue_created`
and `jira:issue_updated` carry the issue as it is now (`issue.key`, `issue.fields`); an admin webhook
with a secret signs the body with HMAC-SHA256 in `X-Hub-Signature` (`sha256=<hex>`), and
`X-Atlassian-Webhook-Identifier` identifies the delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from escalade.sync.snapshot import (
    HubSignatureConnector,
    PayloadError,
    TicketSnapshot,
    instant,
)

EVENTS = ("jira:issue_created", "jira:issue_updated")
DEFAULT_PRIORITIES = {"Highest": "high", "High": "high", "Medium": "medium", "Low": "low", "Lowest": "low"}
DEFAULT_WAITING = ("Waiting for customer", "En attente du client")


@dataclass(frozen=True)
class JiraSettings:
    secret: str
    projects: dict[str, str] = field(default_factory=dict)  # project key → customer code
    priorities: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    waiting: tuple[str, ...] = DEFAULT_WAITING  # status names that wait for the customer


def _named(fields: dict[str, Any], key: str) -> dict[str, Any]:
    value = fields.get(key)
    if not isinstance(value, dict) or not value.get("name"):
        raise PayloadError(f"issue.fields.{key}.name manque : ce n'est pas le corps d'un webhook Jira.")
    return value


def snapshot(payload: Any, settings: JiraSettings) -> TicketSnapshot | None:
    """The issue as it is now; None for an event that is not an issue's creation or update."""
    if not isinstance(payload, dict) or not isinstance(payload.get("issue"), dict):
        raise PayloadError("Corps attendu : l'objet « issue » d'un webhook Jira.")
    if payload.get("webhookEvent") not in EVENTS:
        return None
    issue = payload["issue"]
    fields = issue.get("fields")
    if not issue.get("key") or not isinstance(fields, dict):
        raise PayloadError("issue.key et issue.fields sont attendus : ce n'est pas le corps d'un webhook Jira.")
    for key in ("created", "updated"):
        if not fields.get(key):
            raise PayloadError(f"issue.fields.{key} manque : ce n'est pas le corps d'un webhook Jira.")
    status, priority, project = _named(fields, "status"), _named(fields, "priority"), fields.get("project")
    if not isinstance(project, dict) or not project.get("key"):
        raise PayloadError("issue.fields.project.key manque : ce n'est pas le corps d'un webhook Jira.")
    if priority["name"] not in settings.priorities:
        raise PayloadError(f"issue.fields.priority « {priority['name']} » : priorité sans correspondance "
                           f"(connues : {', '.join(settings.priorities)}).")
    category = (status.get("statusCategory") or {}).get("key", "")
    return TicketSnapshot(
        request_number=str(issue["key"]),  # SUP-123: the key customers quote
        customer=settings.projects.get(project["key"], project["key"]),
        priority=settings.priorities[priority["name"]],
        title=str(fields.get("summary") or "")[:300],
        opened_at=instant(fields["created"], "issue.fields.created"),
        changed_at=instant(fields["updated"], "issue.fields.updated"),
        taken=category != "new" or bool(fields.get("assignee")),
        waiting=status["name"] in settings.waiting,
        done=category == "done",
    )


class Jira(HubSignatureConnector):
    name, product, algorithm, delivery_header = "jira", "Jira", "sha256", "X-Atlassian-Webhook-Identifier"
    settings: JiraSettings

    def snapshot(self, payload: Any) -> TicketSnapshot | None:
        return snapshot(payload, self.settings)
