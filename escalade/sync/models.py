"""Where each helpdesk connector stands, and every change it applied (once, by its helpdesk id)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SyncState(models.Model):
    connector = models.CharField(_("connecteur"), max_length=32, unique=True)
    # Tickets changed at or after this instant are read again by the next poll.
    cursor = models.DateTimeField(_("curseur"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("dernier succès le"), null=True, blank=True)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    last_error_at = models.DateTimeField(_("dernière erreur le"), null=True, blank=True)

    class Meta:
        verbose_name = _("état de synchronisation")
        verbose_name_plural = _("états de synchronisation")

    def __str__(self) -> str:
        return self.connector


class AppliedChange(models.Model):
    """A helpdesk change applied (a ticket's transaction) or a note written back (a comment): the
    poll and the webhook may both see it, it is applied once."""

    connector = models.CharField(_("connecteur"), max_length=32)
    key = models.CharField(_("clé"), max_length=200)
    applied_at = models.DateTimeField(_("appliqué le"), default=timezone.now)
    request_number = models.CharField(_("numéro de requête"), max_length=64, blank=True)
    summary = models.CharField(_("résumé"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("changement appliqué")
        verbose_name_plural = _("changements appliqués")
        constraints = [models.UniqueConstraint(fields=["connector", "key"], name="sync_change_once")]

    def __str__(self) -> str:
        return f"{self.connector} {self.key}"
