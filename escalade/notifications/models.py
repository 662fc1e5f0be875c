"""The outbox: every notification is a row written in the transaction of the event that causes it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    ESCALATION = "escalation", _("escalade à traiter")
    ESCALATION_INFO = "escalation_info", _("escalade pour information")
    CONFIRMATION = "confirmation", _("confirmation au demandeur")
    REMINDER = "reminder", _("relance d'escalade")
    WARNING = "warning", _("échéance proche")
    BREACH = "breach", _("délai dépassé")
    LEVEL_AVAILABLE = "level_available", _("niveau d'escalade ouvert")
    MAIL_REPLY = "mail_reply", _("réponse à un e-mail reçu")


# In a burst, what a person must act on leaves first: an escalation and a level opening before a
# breach, a breach before a reminder, a reminder before a pre-breach warning.
RANK = {NotificationKind.ESCALATION: 0, NotificationKind.LEVEL_AVAILABLE: 0, NotificationKind.BREACH: 1,
        NotificationKind.REMINDER: 2, NotificationKind.WARNING: 4}
OTHER_RANK = 3


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    APPRISE = "apprise", _("SMS / messagerie")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("en attente")
    SENDING = "sending", _("en cours d'envoi")
    SENT = "sent", _("envoyée")
    DEAD = "dead", _("abandonnée")


class Notification(models.Model):
    """One message to one recipient; rendered at delivery time from `kind` and its objects."""

    kind = models.CharField(_("type"), max_length=32, choices=NotificationKind.choices)
    channel = models.CharField(_("canal"), max_length=16, choices=DeliveryChannel.choices)
    recipient = models.CharField(_("destinataire"), max_length=500)
    recipient_name = models.CharField(_("nom du destinataire"), max_length=200, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications",
        verbose_name=_("incident"),
    )
    escalation = models.ForeignKey(
        "escalations.Escalation",
        verbose_name=_("escalade"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    context = models.JSONField(_("contexte"), default=dict, blank=True)
    # Unique per (cause, recipient): enqueuing twice is a no-op; the email Message-ID derives from it.
    idempotency_key = models.CharField(_("clé d'unicité"), max_length=200, unique=True)
    status = models.CharField(
        _("état"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    next_attempt_at = models.DateTimeField(_("prochain essai le"), default=timezone.now, db_index=True)
    claimed_until = models.DateTimeField(_("réservée jusqu'au"), null=True, blank=True)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    sent_at = models.DateTimeField(_("envoyée le"), null=True, blank=True)
    # Computed by the database from the kind, whoever writes the row: the senders take due rows in
    # this order through the partial index below, instead of sorting every pending row per claim
    # (9 ms a claim with 10,000 pending, growing with the outage).
    rank = models.GeneratedField(
        expression=models.Case(*(models.When(kind=kind, then=models.Value(rank)) for kind, rank in RANK.items()),
                               default=models.Value(OTHER_RANK)),
        output_field=models.SmallIntegerField(), db_persist=True, verbose_name=_("urgence"),
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["rank", "next_attempt_at", "id"], condition=models.Q(status="pending"),
                         name="notification_due_order"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient} ({self.status})"


class WorkerHeartbeat(models.Model):
    """Each running `escalade worker` says it is alive (every few seconds): /healthz and /metrics
    read it from any web process or machine."""

    worker_id = models.CharField(_("identifiant"), max_length=40, unique=True)
    host = models.CharField(_("machine"), max_length=200)
    pid = models.PositiveIntegerField(_("processus"))
    started_at = models.DateTimeField(_("démarré le"))
    seen_at = models.DateTimeField(_("vu le"), db_index=True)
    # What this worker did since it started (Prometheus counters: a restart is a new series).
    crossings = models.PositiveBigIntegerField(_("franchissements"), default=0)
    alerts = models.PositiveBigIntegerField(_("alertes"), default=0)
    escalations = models.PositiveBigIntegerField(_("escalades"), default=0)
    delivered = models.PositiveBigIntegerField(_("livrées"), default=0)
    failed = models.PositiveBigIntegerField(_("échecs"), default=0)

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")

    def __str__(self) -> str:
        return f"{self.host} ({self.pid})"
