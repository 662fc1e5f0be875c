"""E-mail escalation at volume: 1,000 messages in the procedure's mailbox, all decided and answered.

A real IMAP server (Debian's dovecot, a throwaway configuration as the tests use), `escalade mail
fetch --watch` (IDLE) and `escalade worker` (which sends the replies to an aiosmtpd relay) run as
processes; 1,000 customer messages, each quoting the request number of an open, overdue high-priority
incident, are appended over IMAP. Measured: messages/s from the first append to the last reply sent,
and the latency from each message's append to its reply's `sent_at` (p50 / p99 / max).

The baseline, in the same run: the same messages appended, fetched and moved by imap-tools with no
decision at all (the IMAP cost alone); the ratio says what deciding and answering adds.

    .venv/bin/python benchmarks/bench_mail.py                    # SQLite file, 1,000 messages
    .venv/bin/python benchmarks/bench_mail.py --messages 200
    .venv/bin/python benchmarks/bench_mail.py --database-url postgresql://postgres@127.0.0.1/escalade_bench
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import support

sys.path.insert(0, str(support.ROOT / "tests"))
from mail.support import Dovecot, message  # the tests' throwaway dovecot

SETUP = """
from datetime import timedelta
from django.utils import timezone
from escalade.accounts.models import User
from escalade.incidents.models import Customer
from escalade.incidents.services import IncidentInput, upsert_incident
customer = Customer.objects.create(code="client-mail", name="Client Mail")
User.objects.create_user("mail-user", "client@mail.example", "pw-mail-12345", role="customer", customer=customer)
now = timezone.now()
for i in range({count}):
    upsert_incident(IncidentInput(request_number=f"MAIL-{{i}}", customer="client-mail", priority="high",
                    opened_at=now - timedelta(minutes=65), track="support"), user=None, channel="api", now=now)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000)
    parser.add_argument("--database-url", help="PostgreSQL scratch database (default: a temporary SQLite file)")
    return parser.parse_args()


def raw(i: int) -> bytes:
    return message(sender="Client <client@mail.example>", subject=f"Escalade MAIL-{i}",
                   body=f"Le service {i} est coupé.", message_id=f"<bench-{i}@mail.example>")


def baseline(server: Dovecot, count: int) -> float:
    """Append, fetch and move `count` messages with imap-tools alone: messages/s."""
    started = time.monotonic()
    with server.client() as box:
        for i in range(count):
            box.append(raw(i), "INBOX")
        if not box.folder.exists("Base"):
            box.folder.create("Base")
        box.folder.set("INBOX")
        for uid in box.uids():
            box.client.uid("FETCH", uid, "(BODY.PEEK[])")
            box.move(uid, "Base")
    return count / (time.monotonic() - started)


def main() -> None:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="escalade-bench-mail-"))
    tmp.chmod(0o755)
    server = Dovecot(tmp / "dovecot").start()
    smtp, smtp_port = support.start_smtp()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        url = support.scratch_database(args.database_url, tmp)
        env = support.environment(url, tmp, ESCALADE_EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
                                  ESCALADE_MAIL_IMAP_URL=server.url, ESCALADE_MAIL_ADDRESS="escalade@hipcom.fr",
                                  ESCALADE_MAIL_TRUSTED_AUTHSERV="mx.hipcom.fr",
                                  ESCALADE_RATE_MAIL_REPLIES=support.UNLIMITED, DJANGO_SETTINGS_MODULE="escalade.settings")
        support.escalade(env, "migrate", "-v0")
        support.escalade(env, "shell", "-c", SETUP.format(count=args.messages))
        base_rate = baseline(server, args.messages)

        processes.append(subprocess.Popen([sys.executable, "-m", "escalade", "mail", "fetch", "--watch", "--poll", "5"],
                                          env=env, cwd=support.ROOT))
        processes.append(subprocess.Popen([sys.executable, "-m", "escalade", "worker", "--interval", "0.5"],
                                          env=env, cwd=support.ROOT))
        time.sleep(3)  # both connected and idle
        appended: dict[str, float] = {}
        started = time.time()
        with server.client() as box:
            for i in range(args.messages):
                box.append(raw(i), "INBOX")
                appended[f"<bench-{i}@mail.example>"] = time.time()
        sent: list[tuple[str, float]] = []
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            rows = support.query(url, "SELECT count(*) FROM notifications_notification "
                                      "WHERE kind = 'mail_reply' AND status = 'sent'")
            if rows[0][0] >= args.messages:
                break
            time.sleep(0.5)
        for context, at in support.query(url, "SELECT context, sent_at FROM notifications_notification "
                                              "WHERE kind = 'mail_reply' AND status = 'sent'"):
            import json

            data = context if isinstance(context, dict) else json.loads(str(context))
            when = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
            sent.append((data["in_reply_to"], when.replace(tzinfo=when.tzinfo or UTC).timestamp()))
        if len(sent) < args.messages:
            raise SystemExit(f"only {len(sent)} of {args.messages} replies sent within 600 s")
        latencies = sorted(max(0.0, at - appended[mid]) for mid, at in sent if mid in appended)
        total = max(at for _, at in sent) - started
        rate = args.messages / total
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        granted = support.query(url, "SELECT count(*) FROM mail_inboundmessage WHERE decision = 'granted'")[0][0]
        support.table(
            f"bench_mail — {support.database_label(url)}, {args.messages:,} messages ({granted:,} granted)",
            ["measure", "value", "baseline (IMAP alone)", "ratio"],
            [["messages/s, append → reply sent", f"{rate:,.1f}", f"{base_rate:,.1f}", f"{rate / base_rate:.3f}"],
             ["latency p50 (s)", f"{statistics.median(latencies):.2f}", "", ""],
             ["latency p99 (s)", f"{p99:.2f}", "", ""],
             ["latency max (s)", f"{latencies[-1]:.2f}", "", ""]],
        )
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        smtp.terminate()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
