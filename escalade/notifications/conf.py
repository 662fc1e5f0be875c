"""Delivery settings as durations and counts (read from `settings.py`, so tests override them)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def _number(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def max_attempts() -> int:
    """After this many failed attempts a notification is dead (visible in the admin)."""
    return int(_number("ESCALADE_DELIVERY_MAX_ATTEMPTS", 8))


def backoff_base() -> timedelta:
    return timedelta(seconds=_number("ESCALADE_DELIVERY_BACKOFF_SECONDS", 30))


def backoff_cap() -> timedelta:
    return timedelta(seconds=_number("ESCALADE_DELIVERY_BACKOFF_CAP_SECONDS", 3600))


def lease() -> timedelta:
    """How long a claimed notification stays ours; longer than one SMTP exchange with its timeout."""
    return timedelta(seconds=_number("ESCALADE_DELIVERY_LEASE_SECONDS", 120))


def digest_from() -> int:
    """From this many alerts claimed together for one e-mail address, one digest carries them all
    (0: every alert alone)."""
    return int(_number("ESCALADE_DELIVERY_DIGEST_FROM", 5))


def digest_max() -> int:
    return max(1, int(_number("ESCALADE_DELIVERY_DIGEST_MAX", 100)))


def ack_link_max_age() -> timedelta:
    return timedelta(seconds=_number("ESCALADE_ACK_LINK_MAX_AGE_SECONDS", 7 * 24 * 3600))


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min… after the 1st, 2nd, 3rd failure, capped."""
    base, cap = backoff_base(), backoff_cap()
    delay = base
    # Double step by step up to the cap: computing 2**attempts first overflows timedelta after ~30
    # attempts, which killed the worker when an operator allowed many retries.
    for _ in range(max(attempts - 1, 0)):
        if delay >= cap:
            break
        delay *= 2
    return min(delay, cap)
