"""`escalade customers add CODE NAME [--partner CODE] [--gtr]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from escalade.incidents.models import Contract, Customer, Partner


class Command(BaseCommand):
    help = "Gère les clients (organisations) et leur contrat (GTR)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, title="actions")
        add = actions.add_parser("add", help="crée un client et son contrat")
        add.add_argument("code", help="code court (lettres, chiffres, tirets)")
        add.add_argument("name")
        add.add_argument("--partner", help="code du partenaire qui gère ce client")
        add.add_argument("--gtr", action="store_true", help="le contrat comprend la GTR")
        actions.add_parser("list", help="liste les clients")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for customer in Customer.objects.select_related("partner", "contract"):
                partner = customer.partner.code if customer.partner else "-"
                self.stdout.write(f"{customer.code}\t{customer.name}\tpartenaire {partner}\t"
                                  f"GTR {'oui' if customer.gtr else 'non'}")
            return
        code = options["code"]
        if slugify(code) != code:
            raise CommandError(f"Code invalide « {code} » : lettres minuscules, chiffres et tirets.")
        if Customer.objects.filter(code=code).exists():
            raise CommandError(f"Le client « {code} » existe déjà.")
        partner = None
        if options["partner"]:
            partner = Partner.objects.filter(code=options["partner"]).first()
            if partner is None:
                raise CommandError(f"Aucun partenaire ne porte le code « {options['partner']} ».")
        with transaction.atomic():
            customer = Customer.objects.create(code=code, name=options["name"], partner=partner)
            Contract.objects.create(customer=customer, gtr=options["gtr"])
        managed = f", géré par « {partner.code} »" if partner else ""
        self.stdout.write(f"Client « {code} » créé (GTR {'oui' if options['gtr'] else 'non'}{managed}).")
