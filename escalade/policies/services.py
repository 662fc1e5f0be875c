"""Saving a policy version: the only place one is written. Validated by the core's loader first (its
French, path-named messages), numbered after the latest of its name under a lock, never rewritten."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from escalade.core.policy import Policy, policy_from_toml
from escalade.errors import ServiceError
from escalade.policies import memo
from escalade.policies.models import PolicyVersion, digest_of

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ServiceError("policy_name_invalid",
                           f"Nom de politique invalide « {name} » : lettres minuscules, chiffres et tirets.")
    return name


def save_version(name: str, text: str, *, user: Any = None, label: str = "", comment: str = "",
                 now: datetime | None = None) -> tuple[PolicyVersion, Policy, bool]:
    """Store `text` as the next version of `name`; returns (version, policy, created). A text equal
    to the latest version's is no new version (created False). Raises PolicyError, unchanged data."""
    check_name(name)
    policy = policy_from_toml(text)
    with transaction.atomic():
        # Locks the name's versions (on PostgreSQL) so that two saves never take the same number.
        last = PolicyVersion.objects.select_for_update().filter(name=name).order_by("-number").first()
        if last is not None and last.digest == digest_of(text):
            return last, policy, False
        version = PolicyVersion(
            name=name, number=(last.number + 1) if last else 1, text=text, comment=comment,
            created_at=now or timezone.now(), created_by=user if getattr(user, "pk", None) else None,
            created_by_label=label or (getattr(user, "username", "") if user is not None else ""),
        )
        version.save()
    transaction.on_commit(memo.clear)
    memo.clear()
    return version, policy, True


CONTACT_KEYS = ("level", "track", "name", "role", "team", "phones", "email", "apprise", "language")


def with_contacts(text: str, contacts: list[dict[str, Any]]) -> str:
    """`text` with its [[contacts]] tables replaced by `contacts` (written where the first one was),
    everything else byte for byte: the contacts form edits people without touching the TOML."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    at: int | None = None
    inside = False
    for line in lines:
        header = line.strip()
        if header == "[[contacts]]":
            inside = True
            at = len(kept) if at is None else at
            continue
        if inside and header.startswith("["):
            inside = False
        if not inside:
            kept.append(line)
    if at is None:
        at = len(kept)
        if kept and not kept[-1].endswith("\n"):
            kept[-1] += "\n"
    blocks = "".join(_contact_block(c) for c in contacts)
    return "".join(kept[:at]) + blocks + "".join(kept[at:])


def _contact_block(contact: dict[str, Any]) -> str:
    out = ["[[contacts]]\n"]
    for key in CONTACT_KEYS:
        value = contact.get(key)
        if value in (None, "", [], ()):
            continue
        out.append(f"{key} = {_toml_value(value)}\n")
    return "".join(out) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # JSON's string escapes are TOML basic-string escapes (\", \\, \n, \uXXXX).
    return json.dumps(str(value), ensure_ascii=False)


def contacts_of(text: str) -> list[dict[str, Any]]:
    """The [[contacts]] of a policy text as written (the form's initial values)."""
    raw = tomllib.loads(text).get("contacts", [])
    return [dict(c) for c in raw if isinstance(c, dict)]
