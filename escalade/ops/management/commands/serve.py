"""`escalade serve`: the web pages and the API under gunicorn, optionally with the worker.

It refuses to start on a policy it cannot read (every page and call would depend on it).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError, CommandParser

from escalade.ops.startup import PolicyRequired


class Command(PolicyRequired):
    help = "Sert Escalade (pages et API) avec gunicorn ; --with-worker lance aussi le veilleur."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port (défaut : 8000)")
        parser.add_argument("--workers", type=int, default=2, help="processus gunicorn (défaut : 2)")
        parser.add_argument("--threads", type=int, default=1, help="fils par processus (défaut : 1)")
        parser.add_argument("--with-worker", action="store_true",
                            help="lance aussi `escalade worker` (échéances et notifications)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["port"] < 65536:
            raise CommandError(f"Port invalide : {options['port']}.")
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError("--workers et --threads doivent valoir au moins 1.")
        self._collect_static()
        worker = self._start_worker() if options["with_worker"] else None
        bind = f"{options['host']}:{options['port']}"
        self._share_metrics(bind)
        server = subprocess.Popen([
            sys.executable, "-m", "gunicorn", "escalade.wsgi:application",
            "--bind", bind, "--workers", str(options["workers"]), "--threads", str(options["threads"]),
            "--graceful-timeout", "10", "--access-logfile", "-",
            # gunicorn 27's control socket has one default path per user: a second `serve` on the
            # same machine fought the first for it and stopped answering. Escalade does not use it.
            "--no-control-socket",
        ])
        self.stdout.write(f"Escalade sur http://{bind}/ (arrêt : Ctrl+C)")

        def stop(signum: int, frame: FrameType | None) -> None:
            server.send_signal(signal.SIGTERM)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            code = server.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=15)
            if worker is not None:
                self._stop(worker)
        if code not in (0, -signal.SIGTERM, -signal.SIGINT):
            raise CommandError(f"gunicorn s'est arrêté avec le code {code}.", returncode=1)

    def _collect_static(self) -> None:
        """Several `serve` on one machine share STATIC_ROOT: one collects at a time (a lock file
        beside it), rather than two deleting and writing the same files together."""
        root = Path(settings.STATIC_ROOT)
        root.parent.mkdir(parents=True, exist_ok=True)
        with (root.parent / f".{root.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            call_command("collectstatic", interactive=False, verbosity=0)

    def _share_metrics(self, bind: str) -> None:
        """The gunicorn processes write their API latency to one directory that /metrics reads
        (prometheus-client's multiprocess mode), emptied at each start as that mode requires: one
        directory per listening address, so that a second `serve` sharing the data directory does
        not empty the first one's."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return
        directory = Path(settings.DATA_DIR) / "prometheus" / bind.replace(":", "_").replace("/", "_")
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)

    def _start_worker(self) -> subprocess.Popen[bytes] | None:
        if "worker" not in get_commands():
            self.stderr.write("La commande « worker » n'est pas disponible : serveur lancé sans veilleur.")
            return None
        self.stdout.write("Veilleur lancé (escalade worker).")
        return subprocess.Popen([sys.executable, "-m", "escalade", "worker"])

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
