"""What a long-running process checks before it starts: a policy it can enforce."""

from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from escalade.core.policy import Policy, PolicyError
from escalade.policies import file_policy, policy_text, services, store


def require_valid_policy() -> Policy:
    """The policy file in force, or a refusal to start that says what is wrong, field by field (the
    validator's French messages): a service that cannot read its policy must not answer 500s. A
    file named by ESCALADE_POLICY is loaded as the default policy's next version when its text is
    new (`escalade policy load` without the command)."""
    file_policy.cache_clear()
    try:
        policy = file_policy()
    except PolicyError as exc:
        lines = "\n".join(f"  - {issue}" for issue in exc.issues)
        raise CommandError(f"Politique inutilisable, démarrage refusé :\n{lines}", returncode=2) from None
    if getattr(settings, "ESCALADE_POLICY", None):
        _load_configured_file()
    return policy


def _load_configured_file() -> None:
    with contextlib.suppress(DatabaseError):  # not migrated yet: `migrate` loads it as version 1
        services.save_version(store.default_name(), policy_text(), label="ESCALADE_POLICY (démarrage)")


class PolicyRequired(BaseCommand):
    """A command that refuses to start, before Django's own checks load the URLs (whose API schema
    names the policy's priorities and levels), when the policy cannot be read."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        require_valid_policy()
        return super().execute(*args, **options)
