"""The policies in force, per process: parsed once per text, the latest version of each name looked
up again at most every `FRESH_SECONDS`, so that a version saved anywhere (another web process, the
admin, `escalade policy load`) is seen everywhere within seconds, without a restart.

`policy_of(version_id)` is what an incident is evaluated with: the commitments of the version it is
pinned to (priorities, targets, clocks, calendars, GTR rule, thresholds, numbering) and the people of
the latest version of the same name (contacts, general lines, notification rules and reminders):
call whoever holds the job today, never move a deadline already promised.
"""

from __future__ import annotations

import time
from dataclasses import replace
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction

from escalade.core.contract import check_request_number, request_number_candidates
from escalade.core.policy import Policy, policy_from_toml
from escalade.errors import NotFound
from escalade.policies import file_policy, memo, policy_text, services
from escalade.policies.memo import VersionInfo
from escalade.policies.models import PolicyVersion

FRESH_SECONDS = 2.0


_registry = memo.registry
clear = memo.clear


def default_name() -> str:
    return str(getattr(settings, "ESCALADE_DEFAULT_POLICY", "hipcom"))


def _reload() -> None:
    rows = list(PolicyVersion.objects.order_by("name", "number").values_list("id", "name", "number", "digest"))
    by_id = {row[0]: VersionInfo(*row) for row in rows}
    latest = {info.name: info for info in by_id.values()}  # ordered by number: the last one wins
    with _registry.lock:
        _registry.by_id, _registry.latest = by_id, latest
        _registry.checked_at = time.monotonic()


def _fresh() -> None:
    if time.monotonic() - _registry.checked_at > FRESH_SECONDS:
        _reload()


def _ensure_default() -> None:
    """The default policy exists from the first use on: the file of ESCALADE_POLICY (or the one
    shipped) becomes its version 1 (the migration does it too; a flushed test database does not)."""
    try:
        with transaction.atomic():
            services.save_version(default_name(), policy_text(), label="fichier de politique (démarrage)")
    except IntegrityError:  # another process made it at the same moment
        pass
    _reload()


def latest(name: str | None = None) -> VersionInfo:
    """The latest version of `name` (the default policy's when None)."""
    name = name or default_name()
    _fresh()
    info = _registry.latest.get(name)
    if info is None:
        _reload()
        info = _registry.latest.get(name)
        if info is None and name == default_name():
            _ensure_default()
            info = _registry.latest.get(name)
    if info is None:
        raise NotFound("policy_not_found", f"Aucune politique ne s'appelle « {name} ».")
    return info


def version(version_id: int) -> VersionInfo:
    info = _registry.by_id.get(version_id)
    if info is None:
        _reload()
        info = _registry.by_id.get(version_id)
    if info is None:
        raise NotFound("policy_not_found", f"Aucune version de politique n'a l'identifiant {version_id}.")
    return info


def find(name: str, number: int) -> VersionInfo:
    _fresh()
    for info in _registry.by_id.values():
        if info.name == name and info.number == number:
            return info
    _reload()
    for info in _registry.by_id.values():
        if info.name == name and info.number == number:
            return info
    raise NotFound("policy_version_not_found", f"La politique « {name} » n'a pas de version {number}.")


def versions_of(name: str) -> list[VersionInfo]:
    _reload()
    return sorted((info for info in _registry.by_id.values() if info.name == name), key=lambda i: i.number)


def parsed(info: VersionInfo) -> Policy:
    """The version's text as the core's policy (a stored text was valid when saved)."""
    found = _registry.parsed.get(info.digest)
    if found is None:
        text = PolicyVersion.objects.values_list("text", flat=True).get(pk=info.id)
        found = policy_from_toml(text)
        _registry.parsed[info.digest] = found
    return found


def text_of(info: VersionInfo) -> str:
    return PolicyVersion.objects.values_list("text", flat=True).get(pk=info.id)


def policy_named(name: str | None = None) -> Policy:
    """The latest version of a policy, whole (a new incident's, a page about the contract)."""
    return parsed(latest(name))


def default_policy() -> Policy:
    return policy_named(None)


def display_zone() -> ZoneInfo:
    """The zone pages show instants in: the default policy's, as this process last read it, else the
    file's. Never a query: a page that needs no database (the API's document) reads none."""
    info = _registry.latest.get(default_name())
    found = _registry.parsed.get(info.digest) if info is not None else None
    return found.timezone if found is not None else file_policy().timezone


def policies_in_force() -> list[Policy]:
    """The latest version of every policy, the default one first."""
    default = default_policy()
    return [default, *(parsed(info) for name, info in sorted(_registry.latest.items()) if name != default_name())]


def labels_in_force(kind: str) -> list[tuple[str, str]]:
    """(key, label) of the priorities or tracks of every policy in force, the default's first (a
    key two policies share takes the first one's label): for filters over all contracts."""
    seen: dict[str, str] = {}
    for policy in policies_in_force():
        for key, item in getattr(policy, kind).items():
            seen.setdefault(key, item.label)
    return list(seen.items())


def levels_in_force() -> tuple[int, ...]:
    """1 to the highest level any policy in force opens."""
    return tuple(range(1, max((len(p.levels) for p in policies_in_force()), default=0) + 1))


def checked_request_number(value: object) -> str:
    """A request number of the pattern of some policy in force (numbers come from the helpdesks of
    every contract); else the default policy's error (FactsError)."""
    policies = policies_in_force()
    for policy in policies[1:]:
        if isinstance(value, str) and policy.is_request_number(value.strip()):
            return check_request_number(policy, value)
    return check_request_number(policies[0], value)  # the default's verdict, and its example


def request_number_guesses(typed: str) -> tuple[str, ...]:
    """`request_number_candidates` under every policy in force, the default's first."""
    found: list[str] = []
    for policy in policies_in_force():
        found.extend(n for n in request_number_candidates(policy, typed) if n not in found)
    return tuple(found)


def policy_of(version_id: int | None) -> Policy:
    """What an incident pinned to `version_id` is evaluated with (None: the default's latest)."""
    if version_id is None:
        return default_policy()
    pinned = version(version_id)
    _fresh()
    current = _registry.latest.get(pinned.name, pinned)
    key = (pinned.digest, current.digest)
    found = _registry.merged.get(key)
    if found is None:
        found = _people_of(parsed(current), parsed(pinned)) if current.digest != pinned.digest else parsed(pinned)
        with _registry.lock:
            if len(_registry.merged) > 256:  # versions in use are few; bounded whatever happens
                _registry.merged.clear()
            _registry.merged[key] = found
    return found


def _people_of(current: Policy, pinned: Policy) -> Policy:
    """`pinned`'s commitments with `current`'s people and their rules."""
    tracks = {key: current.tracks.get(key, track) for key, track in pinned.tracks.items()}
    tracks.update({key: track for key, track in current.tracks.items() if key not in tracks})
    return replace(pinned, organisation=current.organisation, tracks=tracks, contacts=current.contacts,
                   notifications=current.notifications)
