"""`escalade worker [--once] [--interval S]`: watch deadlines and deliver notifications."""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import Any

from django.core.management.base import CommandParser
from django.db import connection

from escalade.ops.startup import PolicyRequired
from escalade.worker import TickReport, Watcher

logger = logging.getLogger("escalade.worker")


class Command(PolicyRequired):
    help = "Surveille les échéances des incidents et envoie les notifications (à lancer en continu)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true",
                            help="traite ce qui est dû puis s'arrête (cron, tests)")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="attente maximale entre deux passages, en secondes (défaut : 1)")
        parser.add_argument("--batch", type=int, default=100,
                            help="incidents réclamés par transaction (défaut : 100)")
        parser.add_argument("--senders", type=int, default=None,
                            help="fils d'envoi des notifications, en parallèle des franchissements "
                                 "(défaut : 4 sur PostgreSQL, 0 sur SQLite où un seul écrit à la fois ; "
                                 "0 : envoi entre deux passages)")

    def handle(self, *args: Any, once: bool, interval: float, batch: int, senders: int | None,
               **options: Any) -> None:
        if senders is None:  # measured (benchmarks/bench_worker.py): threads help where writers run concurrently
            senders = 4 if connection.features.has_select_for_update_skip_locked else 0
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            # Finish the current step; anything claimed and unfinished comes back after its lease.
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        verbose = options.get("verbosity", 1) >= 2

        def report(tick: TickReport) -> None:
            if tick.busy or verbose:
                logger.info(
                    "incidents %s, franchissements %s, alertes %s, escalades %s, relances %s, "
                    "réclamations expirées %s, tâches %s, envoyées %s, échecs %s",
                    tick.incidents, len(tick.crossings), tick.alerts, tick.escalations, tick.reminders,
                    tick.requeued, tick.tasks, tick.delivered, tick.failed,
                )

        if not once:
            logger.info("worker démarré (intervalle %s s)", interval)
        Watcher(batch=batch, delivery_budget=None if once else 2.0, senders=max(0, senders)).run(
            interval=interval, once=once, should_stop=lambda: stopping, on_tick=report
        )
