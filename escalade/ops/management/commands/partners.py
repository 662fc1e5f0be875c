"""`escalade partners add CODE NAME`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from escalade.incidents.models import Partner


class Command(BaseCommand):
    help = "Gère les partenaires (revendeurs qui gèrent des clients)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, title="actions")
        add = actions.add_parser("add", help="crée un partenaire")
        add.add_argument("code", help="code court (lettres, chiffres, tirets)")
        add.add_argument("name")
        actions.add_parser("list", help="liste les partenaires")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for partner in Partner.objects.all():
                self.stdout.write(f"{partner.code}\t{partner.name}")
            return
        code = options["code"]
        if slugify(code) != code:
            raise CommandError(f"Code invalide « {code} » : lettres minuscules, chiffres et tirets.")
        if Partner.objects.filter(code=code).exists():
            raise CommandError(f"Le partenaire « {code} » existe déjà.")
        Partner.objects.create(code=code, name=options["name"])
        self.stdout.write(f"Partenaire « {code} » créé.")
