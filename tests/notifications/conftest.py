from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .support import SMTPSink


@pytest.fixture
def smtp(settings: Any) -> Iterator[SMTPSink]:
    """A real SMTP server on a free local port, with Django's email settings pointing at it."""
    sink = SMTPSink().start()
    settings.MAILERS = sink.mailers()
    yield sink
    sink.stop()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
