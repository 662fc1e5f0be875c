"""`escalade tokens create USERNAME [--name N]` prints the new token alone on its last line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from escalade.accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Gère les jetons d'API (stockés hachés : un jeton n'est affiché qu'une fois)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, title="actions")
        create = actions.add_parser("create", help="crée un jeton et l'affiche (une seule fois)")
        create.add_argument("username")
        create.add_argument("--name", default="", help="à quoi sert ce jeton (ex. « intégration GLPI »)")
        listing = actions.add_parser("list", help="liste les jetons (leur début seulement)")
        listing.add_argument("username", nargs="?")
        revoke = actions.add_parser("revoke", help="révoque un jeton par son début (esc_xxxxxxxx)")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, options["action"])(**options)

    def create(self, *, username: str, name: str, **_: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Aucun utilisateur ne s'appelle « {username} ».")
        if not user.is_active:
            raise CommandError(f"L'utilisateur « {username} » est désactivé.")
        _, raw = ApiToken.issue(user, name=name)
        self.stdout.write(f"Jeton créé pour « {username} » ; conservez-le, il ne sera plus affiché :")
        self.stdout.write(raw)

    def list(self, *, username: str | None = None, **_: Any) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("created_at")
        if username:
            tokens = tokens.filter(user__username=username)
        for token in tokens:
            state = "révoqué" if token.revoked_at else "actif"
            self.stdout.write(f"{token.prefix}…\t{token.user.username}\t{token.name}\t{state}")

    def revoke(self, *, prefix: str, **_: Any) -> None:
        changed = ApiToken.objects.filter(prefix=prefix[:12], revoked_at__isnull=True).update(
            revoked_at=datetime.now(UTC)
        )
        if not changed:
            raise CommandError(f"Aucun jeton actif ne commence par « {prefix} ».")
        self.stdout.write(f"Jeton {prefix[:12]}… révoqué.")
