"""Escalations: one per incident and level, with the history of every request for it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from escalade.incidents.models import Channel, Incident


class Escalation(models.Model):
    incident = models.ForeignKey(Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="escalations")
    level = models.PositiveSmallIntegerField(_("niveau"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("demandé par"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requester_label = models.CharField(_("demandeur"), max_length=200, blank=True)
    requester_role = models.CharField(_("rôle du demandeur"), max_length=16)
    channel = models.CharField(_("canal"), max_length=16, choices=Channel.choices)
    reason = models.TextField(_("motif"))
    granted_at = models.DateTimeField(_("accordée le"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("prise en compte le"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("prise en compte par"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Who took it into account, as shown to people: a staff account's name, or the recipient of a
    # signed e-mail link (who has no account), so every acknowledgement has a name to display.
    acknowledged_label = models.CharField(_("pris en compte par (libellé)"), max_length=200, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("relances envoyées"), default=0)
    next_reminder_at = models.DateTimeField(_("prochaine relance le"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("escalade")
        verbose_name_plural = _("escalades")
        ordering = ["-granted_at"]
        indexes = [
            # Portals and the API list the newest first.
            models.Index(fields=["granted_at"], name="escalation_granted"),
            # The dashboard's feed (every open dashboard asks for it every 3 s): the escalations still
            # to acknowledge, oldest first, and the latest acknowledged. Without them PostgreSQL read
            # the whole history of acknowledged escalations for the first, and joined every incident
            # for the second (90 ms at 200,000 incidents with 500 acknowledged in the week).
            models.Index(fields=["granted_at"], condition=models.Q(acknowledged_at__isnull=True),
                         name="escalation_pending"),
            models.Index(fields=["acknowledged_at"], condition=models.Q(acknowledged_at__isnull=False),
                         name="escalation_acknowledged"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["incident", "level"], name="one_escalation_per_level")
        ]

    def __str__(self) -> str:
        return f"{self.number} — {self.incident.request_number} niveau {self.level}"

    @property
    def number(self) -> str:
        return f"ESC-{self.pk:06d}"


class RequestOutcome(models.TextChoices):
    GRANTED = "granted", _("accordée")
    REPEATED = "repeated", _("déjà accordée")
    REFUSED = "refused", _("refusée")


class EscalationRequest(models.Model):
    """Every ask, granted or not: the escalation's history and the refusals' trace."""

    incident = models.ForeignKey(Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="escalation_requests")
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.PROTECT, related_name="requests",
        verbose_name=_("escalade"),
    )
    requested_level = models.PositiveSmallIntegerField(_("niveau demandé"), null=True, blank=True)
    outcome = models.CharField(_("issue"), max_length=16, choices=RequestOutcome.choices)
    code = models.CharField(_("code"), max_length=40)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("demandée par"),
    )
    requester_label = models.CharField(_("demandeur"), max_length=200, blank=True)
    requester_role = models.CharField(_("rôle du demandeur"), max_length=16)
    channel = models.CharField(_("canal"), max_length=16, choices=Channel.choices)
    reason = models.TextField(_("motif"), blank=True)
    requested_at = models.DateTimeField(_("demandée le"), default=timezone.now)
    # The same ask repeated within the folding window (same person, level, outcome and reason) is
    # counted here rather than written again: the only columns of this history that ever change.
    repeat_count = models.PositiveIntegerField(_("répétitions"), default=0)
    last_requested_at = models.DateTimeField(_("dernière répétition"), null=True, blank=True)

    class Meta:
        verbose_name = _("demande d'escalade")
        verbose_name_plural = _("demandes d'escalade")
        ordering = ["requested_at", "id"]
        indexes = [
            # A repeat's look-up (`services._folded`) names the incident and the asker. With the
            # requester's own index PostgreSQL may read every request of a busy asker (an
            # integration's account: thousands) when its statistics say that asker is rare.
            models.Index(fields=["incident", "requested_by"], name="escalation_request_asker"),
        ]

    def __str__(self) -> str:
        level = f" N{self.requested_level}" if self.requested_level else ""
        return f"{self.requester_label or self.requester_role}{level} : {self.get_outcome_display()} ({self.code})"
