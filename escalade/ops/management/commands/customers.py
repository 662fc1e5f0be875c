"""`escalade customers add CODE NAME [--partner CODE] [--gtr] [--policy NAME]`, `list`, `set-policy CODE NAME`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from escalade.errors import ServiceError
from escalade.incidents.models import Contract, Customer, Partner
from escalade.policies import store


class Command(BaseCommand):
    help = "Gère les clients (organisations) et leur contrat (GTR)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, title="actions")
        add = actions.add_parser("add", help="crée un client et son contrat")
        add.add_argument("code", help="code court (lettres, chiffres, tirets)")
        add.add_argument("name")
        add.add_argument("--partner", help="code du partenaire qui gère ce client")
        add.add_argument("--gtr", action="store_true", help="le contrat comprend la GTR")
        add.add_argument("--policy", default="", help="politique du contrat (défaut : la politique par défaut)")
        actions.add_parser("list", help="liste les clients")
        set_policy = actions.add_parser("set-policy", help="change la politique du contrat (pour les incidents à venir)")
        set_policy.add_argument("code")
        set_policy.add_argument("policy")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for customer in Customer.objects.select_related("partner", "contract"):
                partner = customer.partner.code if customer.partner else "-"
                self.stdout.write(f"{customer.code}\t{customer.name}\tpartenaire {partner}\t"
                                  f"GTR {'oui' if customer.gtr else 'non'}\tpolitique {customer.policy_name}")
            return
        if options["action"] == "set-policy":
            self._set_policy(options["code"], options["policy"])
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
        if options["policy"]:
            _known_policy(options["policy"])
        with transaction.atomic():
            customer = Customer.objects.create(code=code, name=options["name"], partner=partner)
            Contract.objects.create(customer=customer, gtr=options["gtr"], policy=options["policy"])
        managed = f", géré par « {partner.code} »" if partner else ""
        self.stdout.write(f"Client « {code} » créé (GTR {'oui' if options['gtr'] else 'non'}{managed}).")

    def _set_policy(self, code: str, name: str) -> None:
        _known_policy(name)
        customer = Customer.objects.select_related("contract").filter(code=code).first()
        if customer is None:
            raise CommandError(f"Aucun client ne porte le code « {code} ».")
        contract, _created = Contract.objects.get_or_create(customer=customer)
        contract.policy = name
        contract.save(update_fields=["policy"])
        self.stdout.write(f"Client « {code} » : politique « {name} » pour les incidents à venir ; les incidents "
                          "déjà ouverts gardent la version de leur ouverture (escalade policy apply pour les changer).")


def _known_policy(name: str) -> None:
    try:
        store.latest(name)
    except ServiceError as exc:
        raise CommandError(f"{exc.detail} (escalade policy list)") from None
