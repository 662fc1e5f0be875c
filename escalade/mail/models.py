"""Each message received at the procedure's address, once (its Message-ID), with what was decided."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Decision(models.TextChoices):
    GRANTED = "granted", _("escalade accordée")
    REPEATED = "repeated", _("déjà escaladé")
    REFUSED = "refused", _("escalade refusée")
    NO_NUMBER = "no_number", _("sans numéro de requête")
    SEVERAL_NUMBERS = "several_numbers", _("plusieurs numéros")
    UNKNOWN = "unknown", _("inconnu ou hors périmètre")
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("en attente de confirmation")
    AUTOMATIC = "automatic", _("message automatique, sans réponse")
    THROTTLED = "throttled", _("trop de demandes")
    ERROR = "error", _("illisible")


class InboundMessage(models.Model):
    message_id = models.CharField(_("Message-ID"), max_length=500, unique=True)
    source = models.CharField(_("source"), max_length=16)  # "pipe" or "imap"
    received_at = models.DateTimeField(_("reçu le"), db_index=True)
    sender = models.CharField(_("expéditeur"), max_length=320, blank=True)
    subject = models.CharField(_("objet"), max_length=500, blank=True)
    size = models.PositiveIntegerField(_("taille (octets)"), default=0)
    user = models.ForeignKey("accounts.User", verbose_name=_("utilisateur"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    sender_verified = models.BooleanField(_("expéditeur vérifié (DMARC)"), default=False)
    request_number = models.CharField(_("numéro de requête"), max_length=64, blank=True)
    requested_level = models.PositiveSmallIntegerField(_("niveau demandé"), null=True, blank=True)
    reason = models.TextField(_("motif"), blank=True)
    incident = models.ForeignKey("incidents.Incident", verbose_name=_("incident"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    escalation = models.ForeignKey("escalations.Escalation", verbose_name=_("escalade"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decision = models.CharField(_("décision"), max_length=32, choices=Decision.choices)
    code = models.CharField(_("code"), max_length=64, blank=True)
    detail = models.TextField(_("détail"), blank=True)
    references = models.TextField(_("références"), blank=True)  # the thread, for the reply's References header
    confirmed_at = models.DateTimeField(_("confirmé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("message reçu")
        verbose_name_plural = _("messages reçus")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["decision", "received_at"])]

    def __str__(self) -> str:
        return f"{self.sender} — {self.subject[:60]} ({self.get_decision_display()})"


class Mailbox(models.Model):
    """The state of one fetched mailbox, for the admin and /healthz."""

    url = models.CharField(_("boîte"), max_length=500, unique=True)  # without the password
    last_fetch_at = models.DateTimeField(_("dernière relève"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("dernière relève réussie"), null=True, blank=True)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    fetched = models.PositiveBigIntegerField(_("messages relevés"), default=0)
    errors = models.PositiveBigIntegerField(_("messages en erreur"), default=0)

    class Meta:
        verbose_name = _("boîte aux lettres")
        verbose_name_plural = _("boîtes aux lettres")

    def __str__(self) -> str:
        return self.url
