"""`escalade users add USERNAME --role ROLE [--customer CODE | --partner CODE] [--email E] [--password P]
[--language fr|en]`."""

from __future__ import annotations

import getpass
import secrets
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from escalade.accounts.models import Role, User
from escalade.incidents.models import Customer, Partner


class Command(BaseCommand):
    help = "Gère les utilisateurs : client, partenaire, équipe interne, administrateur."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, title="actions")
        add = actions.add_parser("add", help="crée un utilisateur")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=Role.values,
                         help="customer (un client), partner (un partenaire), staff, admin")
        add.add_argument("--customer", help="code du client (rôle customer)")
        add.add_argument("--partner", help="code du partenaire (rôle partner)")
        add.add_argument("--email", default="")
        add.add_argument("--password", help="mot de passe (sinon demandé, ou généré et affiché)")
        add.add_argument("--first-name", default="")
        add.add_argument("--last-name", default="")
        add.add_argument("--language", default="", choices=["", *dict(settings.LANGUAGES)],
                         help="langue des réponses par e-mail (par défaut celle de l'organisation)")
        actions.add_parser("list", help="liste les utilisateurs")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for user in User.objects.select_related("customer", "partner").order_by("username"):
                scope = user.customer or user.partner or ""
                self.stdout.write(f"{user.username}\t{user.get_role_display()}\t{scope}\t{user.email}")
            return
        self.add(**options)

    def add(self, *, username: str, role: str, customer: str | None, partner: str | None, email: str,
            password: str | None, first_name: str, last_name: str, language: str = "", **_: Any) -> None:
        if User.objects.filter(username=username).exists():
            raise CommandError(f"L'utilisateur « {username} » existe déjà.")
        scope = self._scope(role, customer, partner)
        generated = False
        if password is None:
            password = self._prompt()
            if not password:
                password, generated = secrets.token_urlsafe(12), True
        user = User(username=username, email=email, role=role, first_name=first_name, last_name=last_name,
                    language=language, is_staff=role == Role.ADMIN, is_superuser=role == Role.ADMIN, **scope)
        if not generated:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError("Mot de passe refusé : " + " ".join(exc.messages)) from None
        user.set_password(password)
        with transaction.atomic():
            user.save()
        self.stdout.write(f"Utilisateur « {username} » créé ({user.get_role_display()}).")
        if generated:
            self.stdout.write(f"Mot de passe : {password}")

    def _scope(self, role: str, customer: str | None, partner: str | None) -> dict[str, Any]:
        if role == Role.CUSTOMER:
            if not customer or partner:
                raise CommandError("Le rôle customer demande --customer CODE (et pas --partner).")
            found = Customer.objects.filter(code=customer).first()
            if found is None:
                raise CommandError(f"Aucun client ne porte le code « {customer} ».")
            return {"customer": found}
        if role == Role.PARTNER:
            if not partner or customer:
                raise CommandError("Le rôle partner demande --partner CODE (et pas --customer).")
            found_partner = Partner.objects.filter(code=partner).first()
            if found_partner is None:
                raise CommandError(f"Aucun partenaire ne porte le code « {partner} ».")
            return {"partner": found_partner}
        if customer or partner:
            raise CommandError(f"Le rôle {role} voit tous les incidents : ni --customer ni --partner.")
        return {}

    def _prompt(self) -> str:
        if not sys.stdin.isatty():
            return ""
        first = getpass.getpass("Mot de passe (vide : en générer un) : ")
        if first and getpass.getpass("Mot de passe (confirmation) : ") != first:
            raise CommandError("Les deux mots de passe diffèrent.")
        return first
