"""Users with a role and a scope, and hashed API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from escalade import compiled


class Role(models.TextChoices):
    CUSTOMER = "customer", _("client")
    PARTNER = "partner", _("partenaire")
    STAFF = "staff", _("équipe interne")
    ADMIN = "admin", _("administrateur")


class User(AbstractUser):
    role = models.CharField(_("rôle"), max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    customer = models.ForeignKey(
        "incidents.Customer",
        verbose_name=_("client"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    partner = models.ForeignKey(
        "incidents.Partner",
        verbose_name=_("partenaire"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    # The language of what Escalade writes to this person outside a page (answers by e-mail);
    # blank: the organisation's. Chosen with the pages' language switch.
    language = models.CharField(_("langue"), max_length=8, blank=True, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        constraints = [
            models.CheckConstraint(
                name="user_scope_matches_role",
                condition=(
                    models.Q(role="customer", customer__isnull=False, partner__isnull=True)
                    | models.Q(role="partner", partner__isnull=False, customer__isnull=True)
                    | models.Q(role__in=["staff", "admin"], customer__isnull=True, partner__isnull=True)
                ),
            )
        ]

    @property
    def is_internal(self) -> bool:
        """The provider's own people ("ressource interne"): they see every incident."""
        return self.role in (Role.STAFF, Role.ADMIN)


TOKEN_PREFIX = "esc_"
LAST_USED_EVERY = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    user = models.ForeignKey(User, verbose_name=_("utilisateur"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("nom"), max_length=100, blank=True)
    prefix = models.CharField(_("début du jeton"), max_length=12)
    key_hash = models.CharField(_("empreinte de la clé"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple[ApiToken, str]:
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=raw[:12], key_hash=hash_token(raw))
        return token, raw

    @classmethod
    def find(cls, raw: str, failures_key: str | None = None) -> ApiToken | None:
        """The live token of an active user, or None. With `failures_key`, that rate counter's count
        is read in the same query as `failures` (None when it has none): the API reads its failed
        tokens' counter that way. The SQL is compiled once per process (`escalade.compiled`)."""
        if failures_key is None:
            found = compiled.fetch("token", _live_token, hash_token(raw))
        else:
            found = compiled.fetch("token+counter", _live_token, hash_token(raw), failures_key)
        token = found[0] if found else None
        if token is None:
            return None
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
            # At most once a minute: a read must not write on every request (a read-only or busy
            # database would otherwise refuse every GET).
            cls.objects.filter(pk=token.pk).update(last_used_at=now)
        return token


def _live_token(key_hash: str, counter: str | None = None) -> models.QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user").filter(
        key_hash=key_hash, revoked_at__isnull=True, user__is_active=True)
    if counter is not None:
        tokens = tokens.annotate(failures=models.Subquery(RateCounter.objects.filter(key=counter).values("count")[:1]))
    return tokens[:1]


class RateCounter(models.Model):
    """One fixed window of one limit for one subject (accounts.throttle): in the database, so that
    every web process and machine counts together."""

    key = models.CharField(_("clé"), max_length=200, unique=True)
    count = models.PositiveIntegerField(_("nombre"), default=0)
    expires_at = models.DateTimeField(_("expire le"), db_index=True)

    class Meta:
        verbose_name = _("compteur de limite")
        verbose_name_plural = _("compteurs de limite")

    def __str__(self) -> str:
        return f"{self.key} : {self.count}"
