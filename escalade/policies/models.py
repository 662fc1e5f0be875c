"""Policies as versions: each saved text is a new version, never changed, never deleted.

An incident is pinned to the version in force when it was opened (its commitments never change
behind it); the people to call follow the latest version of the same name (`store.policy_of`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PolicyVersion(models.Model):
    name = models.SlugField(_("nom"), max_length=60)
    number = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("texte TOML"))
    digest = models.CharField(_("empreinte SHA-256"), max_length=64, editable=False)
    comment = models.CharField(_("commentaire"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("enregistrée le"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("enregistrée par"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="+")
    # Who saved it in words (a user, `escalade policy load`, the start-up file, the migration).
    created_by_label = models.CharField(_("origine"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("version de politique")
        verbose_name_plural = _("versions de politique")
        ordering = ["name", "-number"]
        constraints = [models.UniqueConstraint(fields=["name", "number"], name="policy_version_unique")]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A version is a commitment made: written once (services.save_version), never rewritten.
        if self.pk is not None and not self._state.adding:
            raise ValueError("a policy version is never changed: save a new version")
        self.digest = digest_of(self.text)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("a policy version is never deleted")
