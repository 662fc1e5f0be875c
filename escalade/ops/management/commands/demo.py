"""`escalade demo`: the demonstration database, idempotent (run it again: nothing is duplicated).

Two customers — `acme` (GTR, managed by the partner `telco-partner`) and `globex` (direct, no GTR) —,
users of every role with demo passwords and demo API tokens (printed), twelve incidents in every
state relative to now (REQ-1001…REQ-1012) and 60 days of history (REQ-2001…) for the reports.
Everything goes through the services, as the API and the pages do.
"""

from __future__ import annotations

import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from escalade.accounts.models import ApiToken, Role, User, hash_token
from escalade.escalations.services import acknowledge_escalation, request_escalation
from escalade.incidents.evaluation import refresh
from escalade.incidents.models import Channel, Contract, Customer, Incident, Partner
from escalade.incidents.services import IncidentInput, apply_event, upsert_incident
from escalade.notifications.models import DeliveryStatus, Notification
from escalade.ops.generate import generate
from escalade.policies import store
from escalade.reports import summary

H, M = timedelta(hours=1), timedelta(minutes=1)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    name: str
    email: str
    customer: str | None = None
    partner: str | None = None

    @property
    def password(self) -> str:
        return f"demo-{self.username}"

    @property
    def token(self) -> str:
        # Demo tokens are fixed so that a second run prints the same ones (only their hash is stored).
        return f"esc_demo_{self.username.replace('-', '_')}_2026"


USERS = (
    DemoUser("admin", Role.ADMIN, "Alice Admin", "admin@hipcom.example"),
    DemoUser("support", Role.STAFF, "Sam Support", "support@hipcom.example"),
    DemoUser("client-acme", Role.CUSTOMER, "Camille Acme", "camille@acme.example", customer="acme"),
    DemoUser("client-globex", Role.CUSTOMER, "Gaston Globex", "gaston@globex.example", customer="globex"),
    DemoUser("partenaire-telco", Role.PARTNER, "Paula Telco", "paula@telco.example", partner="telco-partner"),
)

# number, customer, priority, opened (ago), facts and what the demo shows.
CURRENT: tuple[tuple[str, str, str, timedelta, dict[str, Any], str], ...] = (
    ("REQ-1001", "acme", "high", 10 * M, {}, "Coupure totale du lien fibre — site de Lyon"),
    ("REQ-1002", "acme", "high", 45 * M, {}, "Standard téléphonique injoignable"),
    ("REQ-1003", "acme", "high", 65 * M, {}, "Messagerie indisponible pour tout le siège"),
    ("REQ-1004", "globex", "medium", 15 * H, {}, "Lenteurs VPN sur trois agences"),
    ("REQ-1005", "acme", "high", 2 * H + 40 * M, {}, "Serveur de fichiers arrêté"),
    ("REQ-1006", "acme", "high", 3 * H, {"acknowledged_at": 90 * M}, "Routeur principal en panne"),
    ("REQ-1007", "globex", "low", 3 * 24 * H, {}, "Question sur la facturation des SDA"),
    ("REQ-1008", "acme", "medium", 5 * H, {"acknowledged_at": 20 * M}, "Wi-Fi instable en salle de réunion"),
    ("REQ-1009", "acme", "high", 24 * H, {"acknowledged_at": 20 * M, "resolved_at": 3 * H},
     "Perte de l'accès internet — rétablie"),
    ("REQ-1010", "globex", "medium", 4 * 24 * H, {"acknowledged_at": 3 * H, "resolved_at": 52 * H},
     "Imprimantes réseau hors ligne — résolu en retard"),
    ("REQ-1011", "globex", "high", 25 * M, {"acknowledged_at": 10 * M}, "Site web vitrine arrêté (sans GTR)"),
    ("REQ-1012", "acme", "medium", 3 * H + 10 * M, {"track": "production"}, "Livraison d'un nouveau lien SDSL"),
)
HISTORY_DAYS = 60


class Command(BaseCommand):
    help = ("Crée la base de démonstration (idempotent) : clients, partenaire, utilisateurs de chaque "
            "rôle, incidents dans tous les états, 60 jours d'historique.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000,
                            help="port du serveur, pour les exemples affichés (défaut : 8000)")
        parser.add_argument("--reset", action="store_true",
                            help="efface toute la base puis recrée la démonstration à partir de maintenant")
        parser.add_argument("--incidents", type=int, default=0, metavar="N",
                            help="ajoute N incidents générés sur deux ans (GEN-1…), pour les mesures à grande échelle")
        parser.add_argument("--open", type=int, default=None, metavar="M",
                            help="dont M encore ouverts (par défaut 2 %%)")
        parser.add_argument("--customers", type=int, default=200, metavar="C",
                            help="répartis entre C clients générés (par défaut 200)")
        parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="J",
                            help="processus qui écrivent côte à côte sur PostgreSQL (par défaut : un par cœur)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEV:
            # Demo accounts have published passwords and tokens: never in a production database.
            raise CommandError("escalade demo ne fonctionne qu'en développement (ESCALADE_DEV=1) : "
                               "ses comptes ont des mots de passe et des jetons publiés.")
        call_command("migrate", interactive=False, verbosity=0)
        if options["reset"]:
            # History is never deleted piecemeal (the database refuses it): a reset erases the database.
            call_command("flush", interactive=False, verbosity=0)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        with transaction.atomic():
            self.organisations()
            users = {u.username: self.user(u) for u in USERS}
            demo = Incident.objects.filter(customer__code__in=("acme", "globex"))
            if demo.filter(request_number="REQ-1001").exists():
                self.stdout.write("Incidents de démonstration déjà présents (--reset pour les recréer).")
            else:
                self.current(now, users)
                self.history(now, users)
                for incident in demo.prefetch_related("pauses"):
                    refresh(incident, now)
                # The demo's past was notified in the past: only what happens from now on is sent.
                Notification.objects.filter(incident__in=demo).update(status=DeliveryStatus.SENT, sent_at=now)
                self.stdout.write(f"{demo.count()} incidents de démonstration créés.")
        if options["incidents"]:
            self.generated(options["incidents"], options["open"], options["customers"], now, options["jobs"])
        self.summary(options["port"])

    def generated(self, count: int, open_count: int | None, customers: int, now: datetime, jobs: int) -> None:
        open_count = count // 50 if open_count is None else open_count
        if count < 0 or not 0 <= open_count <= count or customers < 1 or jobs < 1:
            raise CommandError("--incidents, --open, --customers et --jobs : 0 ≤ M ≤ N, au moins un client "
                               "et au moins un processus.")
        started = time.monotonic()
        with tqdm(total=count, unit=" incidents", desc="Génération", file=sys.stderr,
                  disable=None) as bar:  # no bar when stderr is not a terminal
            made = generate(count, open_count, customers, now, progress=bar.update, jobs=jobs)
        seconds = time.monotonic() - started
        self.stdout.write(
            f"{made.incidents} incidents générés ({made.open} ouverts, {made.pauses} pauses, "
            f"{made.escalations} escalades, {made.timeline} entrées de chronologie) pour "
            f"{len(made.customers)} clients, en {seconds:.1f} s ({made.incidents / seconds:.0f} incidents/s).")
        started = time.monotonic()
        sealed = summary.seal_ended(now, store.default_policy().timezone)  # as the worker would within the hour
        self.stdout.write(f"{sealed} mois de rapport scellés en {time.monotonic() - started:.1f} s.")

    def organisations(self) -> None:
        partner, _ = Partner.objects.get_or_create(code="telco-partner", defaults={"name": "Telco Partenaire"})
        for code, name, gtr, managed_by in (("acme", "ACME Industries", True, partner),
                                            ("globex", "Globex Services", False, None)):
            customer, _ = Customer.objects.get_or_create(code=code, defaults={"name": name, "partner": managed_by})
            Contract.objects.get_or_create(customer=customer, defaults={"gtr": gtr, "reference": f"CT-{code.upper()}"})

    def user(self, demo: DemoUser) -> User:
        user = User.objects.filter(username=demo.username).first() or User(username=demo.username)
        first, last = demo.name.split(" ", 1)
        user.first_name, user.last_name, user.email, user.role = first, last, demo.email, demo.role
        user.customer = Customer.objects.get(code=demo.customer) if demo.customer else None
        user.partner = Partner.objects.get(code=demo.partner) if demo.partner else None
        user.is_staff = user.is_superuser = demo.role == Role.ADMIN
        user.is_active = True
        user.set_password(demo.password)
        user.save()
        ApiToken.objects.get_or_create(
            key_hash=hash_token(demo.token),
            defaults={"user": user, "name": "démo", "prefix": demo.token[:12]},
        )
        return user

    def incident(self, number: str, customer: str, priority: str, opened: datetime, title: str,
                 now: datetime, **facts: Any) -> Incident:
        data = IncidentInput(request_number=number, customer=customer, priority=priority, opened_at=opened,
                             title=title, **facts)
        return upsert_incident(data, user=None, channel=Channel.CLI, now=now)[0]

    def current(self, now: datetime, users: dict[str, User]) -> None:
        for number, customer, priority, ago, facts, title in CURRENT:
            opened = now - ago
            instants = {k: opened + v for k, v in facts.items() if isinstance(v, timedelta)}
            others = {k: v for k, v in facts.items() if not isinstance(v, timedelta)}
            self.incident(number, customer, priority, opened, title, now, **instants, **others)
        # REQ-1006: escalated to level 1 by the customer, acknowledged by staff before taking charge.
        opened = now - 3 * H
        self.escalate(users["client-acme"], "REQ-1006", opened + 65 * M, users["support"], opened + 80 * M)
        # REQ-1008: waiting for the customer ("en attente client") for the last hour.
        incident = Incident.objects.get(request_number="REQ-1008")
        apply_event(incident, "pause", user=users["support"], channel=Channel.WEB, now=now, at=now - H,
                    note="En attente d'un accès au local technique.")

    def escalate(self, requester: User, number: str, at: datetime, staff: User, acked: datetime | None) -> None:
        outcome = request_escalation(user=requester, request_number=number, reason="Service toujours coupé.",
                                     now=at, channel=Channel.WEB)
        if outcome.escalation is not None and acked is not None:
            acknowledge_escalation(user=staff, escalation_id=outcome.escalation.pk, now=acked)

    def history(self, now: datetime, users: dict[str, User]) -> None:
        """About one incident a day for 60 days: mostly on time, some late, some escalated."""
        rnd = random.Random(2026)
        policy = store.default_policy()
        titles = ("Lien internet coupé", "Téléphonie dégradée", "VPN instable", "Messagerie lente",
                  "Panne d'un commutateur", "Accès Wi-Fi impossible", "Sauvegarde en échec")
        for day in range(HISTORY_DAYS, 1, -1):
            number = f"REQ-{2000 + HISTORY_DAYS - day + 1}"
            customer = rnd.choice(("acme", "acme", "globex"))
            priority = rnd.choice(("low", "medium", "medium", "high", "high"))
            opened = now - day * 24 * H + timedelta(minutes=rnd.randint(0, 10 * 60))
            late = priority != "low" and rnd.random() < 0.3
            rule = policy.priorities[priority]
            tto = rule.take_charge.target
            ttr = rule.resolution.target if rule.resolution else 4 * H
            if late:  # taken in charge past level 1's threshold, resolved past its deadline
                ack = opened + tto + rule.threshold(1) + timedelta(minutes=rnd.randint(5, 60))
                resolved = max(ack, opened + ttr) + timedelta(minutes=rnd.randint(10, 300))
            else:
                ack = opened + tto * rnd.uniform(0.2, 0.9)
                resolved = ack + (opened + ttr - ack) * rnd.uniform(0.1, 0.9)
            resolved = min(resolved, now - H)
            self.incident(number, customer, priority, opened, rnd.choice(titles), now,
                          acknowledged_at=ack, resolved_at=resolved)
            if late:
                requester = users["client-acme" if customer == "acme" else "client-globex"]
                at = ack - timedelta(minutes=1)
                self.escalate(requester, number, at, users["support"], at + 10 * M)

    def summary(self, port: int) -> None:
        self.stdout.write("\nComptes de démonstration (mot de passe — jeton d'API) :")
        for demo in USERS:
            self.stdout.write(f"  {demo.username:<18} {Role(demo.role).label:<15} {demo.password:<24} {demo.token}")
        escalade, address = _command(), f"http://127.0.0.1:{port}"
        self.stdout.write(
            "\nEssayez :\n"
            f"  {escalade} serve --with-worker --port {port}    puis {address}/\n"
            "  curl -H 'Authorization: Bearer esc_demo_client_acme_2026' "
            f"{address}/api/v1/incidents/REQ-1003\n"
            f"  {escalade} check REQ-1005"
        )


def _command() -> str:
    """How this shell reaches the `escalade` that runs now (".venv/bin/escalade" after `make demo`)."""
    command = Path(sys.executable).with_name("escalade")
    try:
        return str(command.relative_to(Path.cwd()))
    except ValueError:
        return str(command)
