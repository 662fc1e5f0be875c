"""Changes a person makes to their own account."""

from __future__ import annotations

from django.conf import settings

from escalade.accounts.models import User


def set_language(user: User, language: str) -> None:
    """Remember the language a person chose, for what Escalade writes to them outside a page."""
    if language in dict(settings.LANGUAGES) and user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language


def language_of(user: User | None) -> str:
    """The language to write to `user` in: theirs if chosen, else the organisation's."""
    return (user.language if user is not None and user.language else "") or settings.LANGUAGE_CODE
