"""Customers, partners, contracts, incidents and their append-only timeline.

The stored deadlines, states and `next_change_at` are a cache of the core's evaluation, written
only by `incidents.services.refresh`; they exist for the worker's index and for SQL reports.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from escalade.accounts.permissions import scope_of, sees_everything
from escalade.core.escalation import Evaluation, evaluate
from escalade.core.policy import Policy
from escalade.core.sla import IncidentFacts, Pause, Resolved
from escalade.policies import store


class Partner(models.Model):
    """A reseller that manages some customers."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("nom"), max_length=200)

    class Meta:
        verbose_name = _("partenaire")
        verbose_name_plural = _("partenaires")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


def reader_scope(user: Any) -> tuple[str | None, int] | None:
    """What `user` may read (accounts.permissions): (None, 0) everything, ("customer" or "partner",
    id) that scope, None nothing."""
    return (None, 0) if sees_everything(user) else scope_of(user)


def in_scope(queryset: Any, user: Any, *, customer: str, partner: str) -> Any:
    """`queryset` limited to what `user` may see (`reader_scope`): `customer` and `partner` name
    the lookups from its rows to the customer's id and to its partner's id."""
    scope = reader_scope(user)
    return queryset.none() if scope is None else within(queryset, scope, customer=customer, partner=partner)


def within(queryset: Any, scope: tuple[str | None, int], *, customer: str, partner: str) -> Any:
    """`queryset` limited to a `reader_scope` (kind None: all of it; lookups as `in_scope`)."""
    kind, pk = scope
    if kind is None:
        return queryset
    return queryset.filter(**{customer if kind == "customer" else partner: pk})


class CustomerQuerySet(models.QuerySet["Customer"]):
    def visible_to(self, user: Any) -> CustomerQuerySet:
        """Own organisation, managed customers, or all for staff."""
        return in_scope(self.select_related("partner"), user, customer="pk", partner="partner_id")


class Customer(models.Model):
    """A customer organisation (client final)."""

    objects = CustomerQuerySet.as_manager()

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    partner = models.ForeignKey(
        Partner,
        verbose_name=_("partenaire"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def gtr(self) -> bool:
        contract = getattr(self, "contract", None)
        return bool(contract and contract.gtr)

    @property
    def policy_name(self) -> str:
        """Its contract's policy, else the default one."""
        contract = getattr(self, "contract", None)
        return (contract.policy if contract is not None else "") or store.default_name()

    @property
    def policy(self) -> Policy:
        """The latest version of its contract's policy (what a new incident of it is pinned to)."""
        return store.policy_named(self.policy_name)


class Contract(models.Model):
    customer = models.OneToOneField(
        Customer, verbose_name=_("client"), on_delete=models.CASCADE, related_name="contract"
    )
    reference = models.CharField(_("référence"), max_length=100, blank=True)
    gtr = models.BooleanField(
        _("GTR"), default=False, help_text=_("Garantie de temps de rétablissement")
    )
    # A policy's name (escalade.policies); empty: the default policy (ESCALADE_DEFAULT_POLICY).
    policy = models.CharField(_("politique"), max_length=100, blank=True, default="")
    starts_on = models.DateField(_("début"), null=True, blank=True)

    class Meta:
        verbose_name = _("contrat")
        verbose_name_plural = _("contrats")

    def __str__(self) -> str:
        return f"{self.customer.code} — GTR {'oui' if self.gtr else 'non'}"


class Status(models.TextChoices):
    OPEN = "open", _("ouvert")
    ACKNOWLEDGED = "acknowledged", _("pris en charge")
    PAUSED = "paused", _("en attente client")
    RESOLVED = "resolved", _("résolu")


class CommitmentState(models.TextChoices):
    RUNNING = "running", _("en cours")
    MET = "met", _("respecté")
    BREACHED = "breached", _("dépassé")
    MISSED = "missed", _("dépassé (clos)")
    PAUSED = "paused", _("en pause")


class IncidentQuerySet(models.QuerySet["Incident"]):
    def visible_to(self, user: Any) -> IncidentQuerySet:
        """The incidents a user may see: own organisation, managed customers, or all for staff.
        Anything else does not exist for them (404, like an unknown number)."""
        scope = reader_scope(user)
        return self.none() if scope is None else self.within(scope)

    def within(self, scope: tuple[str | None, int]) -> IncidentQuerySet:
        """The incidents of a `reader_scope` (kind None: all of them), with what a reader shows of
        their customer."""
        incidents = self.select_related("customer", "customer__partner", "customer__contract")
        return within(incidents, scope, customer="customer_id", partner="customer__partner_id")

    def urgency_ordered(self, now: datetime) -> IncidentQuerySet:
        """The triage (`triage_key`: escalations awaiting acknowledgement, then priority and open
        level), then breached first and the nearest pending deadline: ordering by the stored
        `next_due_at` is exactly that (a passed deadline sorts before every future one), read through
        the partial index on open incidents. Annotates `breached` (0 when the nearest pending deadline
        has passed)."""
        breached = models.Case(
            models.When(next_due_at__lte=now, then=models.Value(0)),
            default=models.Value(1),
            output_field=models.IntegerField(),
        )
        return self.annotate(breached=breached).order_by("triage", "next_due_at", "opened_at")


TRIAGE_LAST = 9999


def triage_key(awaiting_ack: bool, priority_rank: int, open_level: int, has_deadline: bool) -> int:
    """Smaller first: an escalation awaiting acknowledgement, then the priority (its rank: 0 is the
    shortest take-charge target), then the open level (level 3 before level 1); last, an incident
    with no deadline pending. That last bit keeps the order's next column (`next_due_at`) free of
    NULLs within a key, so the index serves the whole order (no NULLS LAST sort)."""
    key = (0 if awaiting_ack else 1000) + 10 * min(priority_rank, 98) + (9 - min(open_level, 9))
    return 2 * key + (0 if has_deadline else 1)


def pending_deadline(take_charge_due_at: datetime | None, acknowledged_at: datetime | None,
                     resolution_due_at: datetime | None) -> datetime | None:
    """The nearest deadline still to meet: take-charge until acknowledged, and resolution."""
    candidates = [d for d in (None if acknowledged_at else take_charge_due_at, resolution_due_at) if d is not None]
    return min(candidates, default=None)


class Incident(models.Model):
    objects = IncidentQuerySet.as_manager()

    request_number = models.CharField(_("numéro de requête"), max_length=64, unique=True)
    # No index of its own: those led by the customer (below) serve its look-ups.
    customer = models.ForeignKey(
        Customer, verbose_name=_("client"), on_delete=models.PROTECT, related_name="incidents", db_index=False
    )
    title = models.CharField(_("titre"), max_length=300, blank=True)
    priority = models.CharField(_("priorité"), max_length=16)  # a key of the policy's priorities
    track = models.CharField(_("filière"), max_length=32)  # a key of the policy's tracks (its default when none is given)
    gtr = models.BooleanField(_("GTR"), default=False)
    opened_at = models.DateTimeField(_("ouvert le"))
    # A customer's or partner's declaration opens its clocks when Escalade receives it; when the
    # declarant says the problem began is kept here, as information (SPEC §1.2).
    reported_started_at = models.DateTimeField(_("début signalé"), null=True, blank=True)
    # Earlier resolutions, each ended by a reopening ([{"resolved_at", "reopened_at"}], ISO-8601): the
    # intervals count on no clock (SPEC §1.2). On the row, so evaluating needs no other query.
    reopenings = models.JSONField(_("réouvertures"), default=list, blank=True)
    acknowledged_at = models.DateTimeField(_("pris en charge le"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("résolu le"), null=True, blank=True)
    status = models.CharField(_("statut"), max_length=16, choices=Status.choices, default=Status.OPEN)
    # The policy version in force when it was opened: its commitments are this version's for life
    # (unless an operator re-pins it, recorded in its timeline); see escalade.policies.store.
    policy_version = models.ForeignKey("policies.PolicyVersion", verbose_name=_("version de politique"), null=True,
                                       blank=True, on_delete=models.PROTECT, related_name="+")

    # Cache of the core's evaluation (see module docstring).
    take_charge_due_at = models.DateTimeField(_("échéance de prise en charge"), null=True, blank=True)
    take_charge_state = models.CharField(_("état de la prise en charge"), max_length=16, choices=CommitmentState.choices, blank=True)
    resolution_due_at = models.DateTimeField(_("échéance de résolution"), null=True, blank=True)
    resolution_state = models.CharField(_("état de la résolution"), max_length=16, choices=CommitmentState.choices, blank=True)
    allowed_level = models.PositiveSmallIntegerField(_("niveau d'escalade possible"), default=0)
    escalated_level = models.PositiveSmallIntegerField(_("niveau escaladé"), default=0)
    evaluated_at = models.DateTimeField(_("évalué le"), null=True, blank=True)
    next_change_at = models.DateTimeField(_("prochain changement le"), null=True, blank=True, db_index=True)
    # The nearest deadline still to meet (`pending_deadline`): the dashboard's urgency order.
    next_due_at = models.DateTimeField(_("prochaine échéance le"), null=True, blank=True)
    # An escalation of this incident waits for its acknowledgement (escalations.services keeps it).
    awaiting_ack = models.BooleanField(_("escalade à prendre en compte"), default=False)
    # The dashboard's triage, what the procedure says matters (`triage_key`): escalations waiting
    # for acknowledgement, then the priority and the open level; `next_due_at` breaks ties.
    triage = models.PositiveSmallIntegerField(_("rang de tri"), default=TRIAGE_LAST)

    # An incident is archived, never erased: it leaves the working views and the watcher, its history
    # stays (the database refuses DELETE on incidents and their history).
    archived_at = models.DateTimeField(_("archivé le"), null=True, blank=True)

    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["customer", "status"]),
            # A portal reads its organisation's incidents newest first.
            models.Index(fields=["customer", "opened_at"], name="incident_customer_opened"),
            models.Index(fields=["status", "take_charge_due_at"]),
            # Lists read newest first (`-opened_at, -id`): a backward scan of this index, no sort.
            models.Index(fields=["opened_at", "id"], name="incident_opened_order"),
            # The dashboard reads open incidents in triage order: flat in the number of open ones.
            models.Index(fields=["triage", "next_due_at", "opened_at"], condition=models.Q(resolved_at__isnull=True),
                         name="incident_open_triage"),
        ]

    def __str__(self) -> str:
        return self.request_number

    def facts(self) -> IncidentFacts:
        return IncidentFacts(
            request_number=self.request_number,
            priority=self.priority,
            opened_at=self.opened_at,
            gtr=self.gtr,
            track=self.track,
            acknowledged_at=self.acknowledged_at,
            resolved_at=self.resolved_at,
            # A new, unsaved incident has no pauses yet (the bulk import evaluates before saving).
            pauses=() if self.pk is None else tuple(Pause(p.start, p.end) for p in self.pauses.all()),
            reopenings=tuple(
                Resolved(datetime.fromisoformat(r["resolved_at"]), datetime.fromisoformat(r["reopened_at"]))
                for r in self.reopenings
            ),
        )

    @property
    def policy(self) -> Policy:
        """Its pinned version's commitments, with the people of that policy's latest version."""
        return store.policy_of(self.policy_version_id)

    def evaluate(self, policy: Policy, at: datetime) -> Evaluation:
        return evaluate(policy, self.facts(), at)


class RequestNumberSequence(models.Model):
    """The last number given to a declared incident, per prefix (taken under a row lock)."""

    prefix = models.CharField(_("préfixe"), max_length=20, unique=True)
    last = models.PositiveIntegerField(_("dernier numéro"), default=0)

    class Meta:
        verbose_name = _("séquence de numéros de requête")
        verbose_name_plural = _("séquences de numéros de requête")

    def __str__(self) -> str:
        return f"{self.prefix}{self.last:06d}"


class IncidentPause(models.Model):
    """"En attente client": time inside does not count on the resolution clock."""

    incident = models.ForeignKey(Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="pauses")
    start = models.DateTimeField(_("début"))
    end = models.DateTimeField(_("fin"), null=True, blank=True)

    class Meta:
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        ordering = ["start"]

    def __str__(self) -> str:
        end = f"{self.end:%Y-%m-%d %H:%M}" if self.end else "…"
        return f"{self.incident_id} {self.start:%Y-%m-%d %H:%M} → {end}"


class EventKind(models.TextChoices):
    CREATED = "created", _("incident créé")
    UPDATED = "updated", _("incident modifié")
    PRIORITY_CHANGED = "priority_changed", _("priorité modifiée")
    ACKNOWLEDGED = "acknowledged", _("pris en charge")
    PAUSED = "paused", _("mis en attente client")
    RESUMED = "resumed", _("reprise")
    RESOLVED = "resolved", _("résolu")
    REOPENED = "reopened", _("rouvert")
    WARNING = "warning", _("échéance proche")
    BREACH = "breach", _("délai dépassé")
    LEVEL_AVAILABLE = "level_available", _("niveau d'escalade ouvert")
    ESCALATION_REQUESTED = "escalation_requested", _("escalade demandée")
    ESCALATION_GRANTED = "escalation_granted", _("escalade accordée")
    ESCALATION_REFUSED = "escalation_refused", _("escalade refusée")
    ESCALATION_ACKNOWLEDGED = "escalation_acknowledged", _("escalade prise en compte")
    ESCALATION_REMINDED = "escalation_reminded", _("relance d'escalade")
    ARCHIVED = "archived", _("archivé")
    MAIL_RECEIVED = "mail_received", _("e-mail reçu")
    POLICY_APPLIED = "policy_applied", _("nouvelle version de politique appliquée")


class Channel(models.TextChoices):
    WEB = "web", _("portail")
    API = "api", _("API")
    PHONE = "phone", _("téléphone")
    EMAIL = "email", _("e-mail")
    SYSTEM = "system", _("système")
    IMPORT = "import", _("import")
    CLI = "cli", _("ligne de commande")
    SYNC = "sync", _("synchronisation helpdesk")


class TimelineEvent(models.Model):
    """Append-only: who did what, when, how. Never updated or deleted by the application."""

    # No index of its own: the chain's two (below), led by the incident, serve its look-ups; one
    # index less to keep up on the largest table.
    incident = models.ForeignKey(Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="timeline",
                                 db_index=False)
    kind = models.CharField(_("type"), max_length=32, choices=EventKind.choices)
    occurred_at = models.DateTimeField(_("survenu le"))
    recorded_at = models.DateTimeField(_("enregistré le"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("auteur"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("auteur (libellé)"), max_length=200, blank=True)
    channel = models.CharField(_("canal"), max_length=16, choices=Channel.choices, default=Channel.SYSTEM)
    # Identifies a watcher crossing ("breach:take_charge", "level:2") so it is recorded once.
    crossing_key = models.CharField(_("franchissement"), max_length=64, blank=True)
    data = models.JSONField(_("données"), default=dict, blank=True)
    # The hash chain (incidents.audit): each entry seals the previous entry of its incident.
    previous_hash = models.CharField(_("empreinte précédente"), max_length=64, blank=True)
    hash = models.CharField(_("empreinte"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("chronologie")
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "crossing_key"],
                condition=~models.Q(crossing_key=""),
                name="timeline_crossing_once",
            ),
            # One successor per entry: the chain cannot fork, even if two writers race.
            models.UniqueConstraint(fields=["incident", "previous_hash"], name="timeline_chain_linear"),
        ]
        indexes = [
            # An incident's chain in insertion order: its head (the last entry) is one index probe.
            # Without it PostgreSQL walks the primary key backwards for each incident of a batch.
            models.Index(fields=["incident", "id"], name="timeline_chain_order"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"
