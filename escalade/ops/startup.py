"""What a long-running process checks before it starts: a policy it can enforce."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from escalade.core.policy import Policy, PolicyError
from escalade.policies import active_policy


def require_valid_policy() -> Policy:
    """The policy in force, or a refusal to start that says what is wrong, field by field (the
    validator's French messages): a service that cannot read its policy must not answer 500s."""
    active_policy.cache_clear()
    try:
        return active_policy()
    except PolicyError as exc:
        lines = "\n".join(f"  - {issue}" for issue in exc.issues)
        raise CommandError(f"Politique inutilisable, démarrage refusé :\n{lines}", returncode=2) from None


class PolicyRequired(BaseCommand):
    """A command that refuses to start, before Django's own checks load the URLs (whose API schema
    names the policy's priorities and levels), when the policy cannot be read."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        require_valid_policy()
        return super().execute(*args, **options)
