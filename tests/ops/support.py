"""Running a command as a person types it (`escalade check REQ-1042` → Django's check_incident)."""

from __future__ import annotations

import io

from django.core.management import call_command

from escalade.cli import django_argv


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*django_argv(args), stdout=out, stderr=io.StringIO())
    return out.getvalue()
