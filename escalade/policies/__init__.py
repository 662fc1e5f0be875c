"""Where policies come from: the file of the `ESCALADE_POLICY` setting, or HIPCOM's, shipped with the package."""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path

from django.conf import settings

from escalade.core.policy import Policy, PolicyError, PolicyIssue, policy_from_toml

DEFAULT_POLICY = "hipcom.toml"


def policy_text(path: str | os.PathLike[str] | None = None) -> str:
    """The TOML text of the policy at `path`, else of the ESCALADE_POLICY setting, else HIPCOM's."""
    chosen = path or _configured_policy_file()
    if chosen is None:
        return resources.files(__package__).joinpath(DEFAULT_POLICY).read_text(encoding="utf-8")
    try:
        return Path(chosen).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([PolicyIssue(str(chosen), f"fichier illisible : {exc.strerror}")]) from exc


def _configured_policy_file() -> str | None:
    """The ESCALADE_POLICY setting; none outside a configured service (a script using the library)."""
    if not settings.configured and "DJANGO_SETTINGS_MODULE" not in os.environ:
        return None
    return getattr(settings, "ESCALADE_POLICY", None)


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    return policy_from_toml(policy_text(path))


@cache
def file_policy() -> Policy:
    """The policy of the file (ESCALADE_POLICY's, else the shipped one), parsed once: what
    `escalade evaluate` and the API's documented schema use, and what the database's default
    policy starts from. The service's policies are the database's versions (`store`)."""
    return load_policy()
