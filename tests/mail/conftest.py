from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .support import Dovecot


@pytest.fixture
def mail_settings(settings: Any) -> Any:
    settings.ESCALADE_MAIL_ADDRESS = "escalade@hipcom.fr"
    settings.ESCALADE_MAIL_TRUSTED_AUTHSERV = ("mx.hipcom.fr",)
    return settings


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    # Not under pytest's own temporary folder: it is private to root, and dovecot's processes run as
    # the dovecot user.
    root = Path(tempfile.mkdtemp(prefix="escalade-dovecot-"))
    server = Dovecot(root).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
