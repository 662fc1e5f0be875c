"""Starting Django in a pool's fresh process. Its own module: a spawned process loads its initializer
before Django is set up, so the initializer's module must not import any model."""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings


def start_django(database: dict[str, Any]) -> None:
    """The parent's settings (through the environment) and the parent's very database: a test run's
    has its own name, which the settings module alone would not give."""
    settings.DATABASES["default"] = database
    django.setup()
