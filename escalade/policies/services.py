"""Saving a policy version: the only place one is written. Validated by the core's loader first (its
French, path-named messages), numbered after the latest of its name under a lock, never rewritten."""

from __future__ import annotations

import re
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
