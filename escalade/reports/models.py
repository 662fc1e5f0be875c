"""Sealed months of the compliance report and the change counters that say when one is stale.

A month whose incidents are all resolved gives the same figures until one of its incidents changes
(resolved, every deadline is decided: the figures no longer depend on the time). Its rows are kept
(`SealedCell`) with the sum of the change counters of its days (`ChangedDay`) when they were computed.
Database triggers (migration 0001) add one to a day's counter, in the writing transaction, whenever
an incident opened that day is inserted, deleted or changes in a field the report reads, or one of
its escalations is inserted or deleted — whatever writes it (services, imports, bulk updates, the
admin, SQL). A sealed month is used only while its sum is unchanged. Only the days of sealed months
have a counter, so writes to recent incidents never wait on one.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChangedDay(models.Model):
    """Changes to the incidents opened on a UTC day (and to their escalations), counted by triggers."""

    day = models.DateField(_("jour (UTC)"), primary_key=True)
    generation = models.BigIntegerField(_("modifications"), default=0)

    class Meta:
        verbose_name = _("jour modifié")
        verbose_name_plural = _("jours modifiés")

    def __str__(self) -> str:
        return f"{self.day} ({self.generation})"


class SealedMonth(models.Model):
    """A month of the policy's zone, [starts_at, ends_at), whose report rows are kept."""

    starts_at = models.DateTimeField(_("début"), unique=True)
    ends_at = models.DateTimeField(_("fin"))
    first_day = models.DateField(_("premier jour (UTC)"))
    last_day = models.DateField(_("dernier jour (UTC)"))
    generations = models.BigIntegerField(_("modifications comptées"))
    sealed_at = models.DateTimeField(_("calculé le"))

    class Meta:
        verbose_name = _("mois scellé")
        verbose_name_plural = _("mois scellés")

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d}"


class SealedCell(models.Model):
    """One row of the report (a customer and a priority in a sealed month), as the live query gives it."""

    month = models.ForeignKey(SealedMonth, verbose_name=_("mois"), on_delete=models.CASCADE, related_name="cells")
    customer = models.ForeignKey("incidents.Customer", verbose_name=_("client"), on_delete=models.CASCADE,
                                 related_name="+")
    priority = models.CharField(_("priorité"), max_length=16)
    incidents = models.PositiveIntegerField(_("nombre d'incidents"))
    take_charge_judged = models.PositiveIntegerField(_("prises en charge jugées"))
    take_charge_met = models.PositiveIntegerField(_("prises en charge dans le délai"))
    resolution_judged = models.PositiveIntegerField(_("résolutions jugées"))
    resolution_met = models.PositiveIntegerField(_("résolutions dans le délai"))
    take_charge_mean = models.FloatField(_("prise en charge : moyenne (s)"), null=True)
    take_charge_p95 = models.FloatField(_("prise en charge : 95e centile (s)"), null=True)
    resolution_mean = models.FloatField(_("résolution : moyenne (s)"), null=True)
    resolution_p95 = models.FloatField(_("résolution : 95e centile (s)"), null=True)
    escalations = models.JSONField(_("escalades par niveau"), default=dict)  # {level: count}

    class Meta:
        verbose_name = _("ligne de rapport scellée")
        verbose_name_plural = _("lignes de rapport scellées")
        constraints = [models.UniqueConstraint(fields=["month", "customer", "priority"], name="sealed_cell_unique")]

    def __str__(self) -> str:
        return f"{self.month_id} {self.customer_id} {self.priority}"
