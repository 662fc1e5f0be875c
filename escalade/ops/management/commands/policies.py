"""`escalade policy load|list|show|diff|export|apply`: the policy versions in the database.

`escalade policy validate|render` (and `show` without a name) read a file and need no database:
they are the core's (escalade.cli)."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.utils import timezone

from escalade.core import render
from escalade.core.messages import format_instant
from escalade.core.policy import PolicyError
from escalade.errors import ServiceError
from escalade.incidents.models import Channel, Contract
from escalade.incidents.services import repin_open_incidents
from escalade.policies import services, store
from escalade.policies.models import PolicyVersion


class Command(BaseCommand):
    help = "Gère les versions des politiques enregistrées (charger, lister, montrer, comparer, exporter, appliquer)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, title="actions")
        load = actions.add_parser("load", help="valide un fichier TOML et l'enregistre comme nouvelle version")
        load.add_argument("file")
        load.add_argument("--name", help="nom de la politique (défaut : la politique par défaut)")
        load.add_argument("--comment", default="", help="ce qui change, pour l'historique")
        actions.add_parser("list", help="les politiques, leur dernière version et les clients qui la suivent")
        show = actions.add_parser("show", help="résumé lisible d'une version")
        show.add_argument("name")
        show.add_argument("--version", type=int, help="numéro de version (défaut : la dernière)")
        diff = actions.add_parser("diff", help="ce qui change entre deux versions")
        diff.add_argument("name")
        diff.add_argument("a", type=int)
        diff.add_argument("b", type=int)
        export = actions.add_parser("export", help="le texte TOML d'une version, à l'octet près")
        export.add_argument("name")
        export.add_argument("--version", type=int, help="numéro de version (défaut : la dernière)")
        apply = actions.add_parser("apply", help="fait passer les incidents ouverts à une version (délais recalculés)")
        apply.add_argument("name")
        apply.add_argument("--version", type=int, required=True)
        apply.add_argument("--open-incidents", action="store_true", required=True,
                           help="les incidents ouverts de cette politique (obligatoire : le choix est délibéré)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"do_{options['action']}")(options)
        except ServiceError as exc:
            raise CommandError(exc.detail) from None

    def _version(self, name: str, number: int | None) -> store.VersionInfo:
        return store.latest(name) if number is None else store.find(name, number)

    def do_load(self, options: dict[str, Any]) -> None:
        name = options["name"] or store.default_name()
        try:
            text = Path(options["file"]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Fichier illisible « {options['file']} » : {exc}") from None
        try:
            version, policy, created = services.save_version(name, text, label="escalade policy load",
                                                             comment=options["comment"])
        except PolicyError as exc:
            lines = "\n".join(f"  - {issue}" for issue in exc.issues)
            raise CommandError(f"Politique invalide, rien n'est enregistré :\n{lines}", returncode=2) from None
        if created:
            self.stdout.write(f"Politique « {name} » : version {version.number} enregistrée ({policy.organisation}, "
                              f"{len(policy.priorities)} priorités, {len(policy.contacts)} contacts). Les incidents "
                              "ouverts gardent leurs engagements ; les nouveaux suivent cette version.")
        else:
            self.stdout.write(f"Politique « {name} » : identique à la version {version.number}, rien n'est enregistré.")

    def do_list(self, options: dict[str, Any]) -> None:
        followers = dict(Contract.objects.values_list("policy").annotate(n=Count("pk")))
        followers[store.default_name()] = followers.get(store.default_name(), 0) + followers.pop("", 0)
        rows = PolicyVersion.objects.values("name").annotate(n=Count("pk")).order_by("name")
        if not rows:
            self.stdout.write("Aucune politique enregistrée.")
        for row in rows:
            latest = PolicyVersion.objects.filter(name=row["name"]).order_by("-number").first()
            assert latest is not None
            default = " (par défaut)" if row["name"] == store.default_name() else ""
            self.stdout.write(f"{row['name']}{default}\tversion {latest.number} sur {row['n']}\t"
                              f"{_when(latest)}\t{followers.get(row['name'], 0)} client(s)")

    def do_show(self, options: dict[str, Any]) -> None:
        info = self._version(options["name"], options["version"])
        row = PolicyVersion.objects.get(pk=info.id)
        self.stdout.write(f"{info.name} version {info.number} — {_when(row)}"
                          + (f" — {row.comment}" if row.comment else ""))
        self.stdout.write(render.summary(store.parsed(info)))

    def do_diff(self, options: dict[str, Any]) -> None:
        a, b = (store.find(options["name"], options[k]) for k in ("a", "b"))
        lines = difflib.unified_diff(store.text_of(a).splitlines(keepends=True), store.text_of(b).splitlines(keepends=True),
                                     fromfile=f"{a.name} v{a.number}", tofile=f"{b.name} v{b.number}")
        text = "".join(lines)
        self.stdout.write(text if text else f"Les versions {a.number} et {b.number} sont identiques.", ending="")
        if not text:
            self.stdout.write("")

    def do_export(self, options: dict[str, Any]) -> None:
        info = self._version(options["name"], options["version"])
        sys.stdout.buffer.write(store.text_of(info).encode("utf-8"))  # byte for byte: `load` takes it back
        sys.stdout.flush()

    def do_apply(self, options: dict[str, Any]) -> None:
        name, number = options["name"], options["version"]
        moved = repin_open_incidents(name, number, user=None, channel=Channel.CLI, now=timezone.now())
        self.stdout.write(f"{moved} incident(s) ouvert(s) passé(s) à la version {number} de « {name} » ; "
                          "chaque historique garde les délais d'avant et d'après.")


def _when(row: PolicyVersion) -> str:
    who = row.created_by.username if row.created_by else row.created_by_label
    return f"enregistrée le {format_instant(row.created_at, store.display_zone())}" + (f" par {who}" if who else "")
