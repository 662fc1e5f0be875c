"""`escalade import FILE`: incidents from CSV (with a header) or JSON Lines, upserted by request number.

Every row is checked first; if any is wrong, the report lists them by line number and nothing is
imported (exit 1). See escalade/incidents/imports.py for the rules.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from escalade.incidents.imports import ImportFileError, check_rows, import_rows, read_rows


class ProgressBar:
    """A small progress bar on stderr: redrawn in place on a terminal, a line every 10 % otherwise."""

    WIDTH = 30

    def __init__(self, label: str, total: int, stream: IO[str] | None = None) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = self.last = time.monotonic()
        self.last_decile = -1

    def __call__(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        decile = self.done * 10 // self.total
        if (self.tty and now - self.last >= 0.1) or (not self.tty and decile > self.last_decile) \
                or self.done >= self.total:
            self.last, self.last_decile = now, decile
            self.draw(now)

    def draw(self, now: float) -> None:
        share = min(self.done / self.total, 1.0)
        filled = int(share * self.WIDTH)
        rate = self.done / max(now - self.started, 1e-6)
        speed = f"{rate:,.0f}".replace(",", " ")
        text = (f"{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%} "
                f"{self.done}/{self.total} ({speed} lignes/s)")
        self.stream.write(("\r" + text) if self.tty else (text + "\n"))
        if self.tty and self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = ("Importe des incidents (CSV avec en-tête, ou JSON Lines ; mêmes champs que "
            "POST /api/v1/incidents) : création ou mise à jour par numéro de requête. Toutes les lignes "
            "sont vérifiées d'abord : s'il y a une erreur, rien n'est importé.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="fichier .csv ou .jsonl (- : entrée standard non gérée)")
        parser.add_argument("--dry-run", action="store_true", help="vérifie seulement, n'importe rien")
        parser.add_argument("--no-progress", action="store_true", help="sans barre de progression")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"Fichier introuvable : « {path} ».")
        now = datetime.now(UTC)
        started = time.monotonic()
        try:
            rows = list(read_rows(path))
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        except (UnicodeDecodeError, OSError) as exc:
            raise CommandError(f"Fichier illisible « {path} » : {exc}.") from None
        if not rows:
            raise CommandError(f"Le fichier « {path} » ne contient aucune ligne à importer.")
        quiet = options["no_progress"]
        stream = getattr(self.stderr, "_out", sys.stderr)  # the raw stream: the bar redraws in place
        checked = check_rows(rows, now, progress=None if quiet else ProgressBar("Vérification", len(rows), stream))
        if checked.errors:
            for error in checked.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(checked.errors)} ligne(s) en erreur sur {len(rows)} : rien n'a été "
                               "importé. Corrigez le fichier et relancez.")
        if options["dry_run"]:
            self.stdout.write(f"{len(rows)} ligne(s) valides ; rien n'a été importé (--dry-run).")
            return
        result = import_rows(checked, now, progress=None if quiet else ProgressBar("Import", len(rows), stream))
        elapsed = time.monotonic() - started
        rate = f"{len(rows) / max(elapsed, 1e-6):,.0f}".replace(",", " ")
        self.stdout.write(f"{result.created} incident(s) créé(s), {result.updated} mis à jour, "
                          f"en {elapsed:.1f} s ({rate} lignes/s).")
