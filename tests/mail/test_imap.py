"""The procedure's mailbox on a real IMAP server (dovecot, started by the test): messages appended
over IMAP, fetched, decided, moved only once decided, and the replies read back from the SMTP sink."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from notifications.support import SMTPSink, now_utc, open_incident
from test_worker import ESCALADE, Site, _wait

from escalade.escalations.models import Escalation
from escalade.mail import imap
from escalade.mail.models import Decision, InboundMessage, Mailbox
from escalade.notifications.delivery import deliver_many
from escalade.notifications.models import Notification, NotificationKind

from .support import Dovecot, message

pytestmark = pytest.mark.django_db


def _config(server: Dovecot) -> imap.Settings:
    return imap.Settings(server.url, "INBOX", "Traités", "Erreurs")


def test_fetched_messages_are_decided_answered_in_their_thread_and_moved(
    world: Any, smtp: SMTPSink, mail_settings: Any, dovecot: Dovecot
) -> None:
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=95), now=now)
    dovecot.append(message(sender="a@client-a.fr", subject="Escalade REQ-1042", body="Panne totale.",
                           message_id="<imap-1@client-a.fr>"))
    dovecot.append(message(sender="a@client-a.fr", subject="Bonjour", body="Rien", message_id="<imap-2@client-a.fr>"))
    big = message(sender="a@client-a.fr", subject="REQ-1042 trace", body="x" * (20 * 1024 * 1024),
                  message_id="<imap-3@client-a.fr>")
    dovecot.append(big)
    assert imap.run(_config(dovecot), watch=False, poll=0) == 3
    assert dovecot.count("INBOX") == 0 and dovecot.count("Traités") == 2 and dovecot.count("Erreurs") == 1
    decisions = dict(InboundMessage.objects.values_list("message_id", "decision"))
    assert decisions == {"<imap-1@client-a.fr>": Decision.GRANTED, "<imap-2@client-a.fr>": Decision.NO_NUMBER,
                         "<imap-3@client-a.fr>": Decision.ERROR}
    assert Escalation.objects.get().level == 2
    deliver_many(list(Notification.objects.filter(kind=NotificationKind.MAIL_REPLY).values_list("pk", flat=True)))
    replies = {m["In-Reply-To"]: m for m in smtp.to("a@client-a.fr") if m["X-Escalade-Kind"] == "mail_reply"}
    granted = replies["<imap-1@client-a.fr>"]
    assert "niveau 2" in granted.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Vincent BLUSSEAU" in granted.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert set(replies) == {"<imap-1@client-a.fr>", "<imap-2@client-a.fr>", "<imap-3@client-a.fr>"}
    status = Mailbox.objects.get()
    assert status.fetched == 3 and status.errors == 1 and status.last_success_at is not None


def test_the_same_message_in_the_mailbox_twice_is_one_escalation_and_one_reply(
    world: Any, smtp: SMTPSink, mail_settings: Any, dovecot: Dovecot
) -> None:
    now = now_utc()
    open_incident(world.customer_a, "REQ-1042", now - timedelta(minutes=65), now=now)
    raw = message(sender="a@client-a.fr", subject="REQ-1042", body="Coupure.", message_id="<twice@client-a.fr>")
    dovecot.append(raw)
    dovecot.append(raw)
    assert imap.run(_config(dovecot), watch=False, poll=0) == 2
    assert Escalation.objects.count() == 1 and InboundMessage.objects.count() == 1
    assert Notification.objects.filter(kind=NotificationKind.MAIL_REPLY).count() == 1
    assert dovecot.count("Traités") == 2


def test_an_unreachable_server_is_recorded_on_the_mailbox_status(mail_settings: Any, db: None) -> None:
    from .support import free_port

    config = imap.Settings(f"imap://u:p@127.0.0.1:{free_port()}", "INBOX", "Traités", "Erreurs")
    with pytest.raises(OSError):
        imap.run(config, watch=False, poll=0)
    assert Mailbox.objects.get().last_error


def test_healthz_follows_the_fetcher_of_a_real_mailbox(mail_settings: Any, dovecot: Dovecot, db: None) -> None:
    from django.test import Client

    from escalade.worker import Watcher

    Watcher().beat()
    mail_settings.ESCALADE_MAIL_IMAP_URL = dovecot.url
    assert Client().get("/healthz").json()["mailbox"]["ok"] is False  # configured, never read
    assert imap.run(imap.Settings.from_django(), watch=False, poll=0) == 0
    read = Client().get("/healthz")
    assert read.status_code == 200 and read.json()["mailbox"]["ok"] is True
    dovecot.stop()  # the server goes away: the failure is shown, the lag grows from the last success
    with pytest.raises(OSError):
        imap.run(imap.Settings.from_django(), watch=False, poll=0)
    assert Client().get("/healthz").json()["mailbox"]["last_error"]
    mail_settings.ESCALADE_MAIL_LAG_SECONDS = 0.0
    assert Client().get("/healthz").status_code == 503


KILL_AFTER_DECISION = """
import os, signal
from escalade.mail import imap
config = imap.Settings.from_django()
box = imap.connect(config)
imap.fetch_once(box, config, after_decision=lambda uid: os.kill(os.getpid(), signal.SIGKILL))
"""


def test_a_fetcher_killed_between_decision_and_move_processes_the_message_once_after_restart(
    tmp_path: Path, smtp: SMTPSink, dovecot: Dovecot
) -> None:
    site = Site(tmp_path, smtp, ESCALADE_MAIL_IMAP_URL=dovecot.url, ESCALADE_MAIL_ADDRESS="escalade@hipcom.fr",
                ESCALADE_MAIL_TRUSTED_AUTHSERV="mx.hipcom.fr")
    site.shell("""
from datetime import timedelta
from django.utils import timezone
from escalade.accounts.models import User
from escalade.incidents.models import Customer, Incident
from escalade.incidents.services import IncidentInput, upsert_incident
customer = Customer.objects.create(code="client-a", name="Client A")
User.objects.create_user("cust-a", "a@client-a.fr", "pw-a-12345", role="customer", customer=customer)
now = timezone.now()
upsert_incident(IncidentInput(request_number="REQ-1042", customer="client-a", priority="high",
                opened_at=now - timedelta(minutes=65), track="support"), user=None, channel="api", now=now)
""")
    dovecot.append(message(sender="a@client-a.fr", subject="REQ-1042", body="Coupure.", message_id="<kill@client-a.fr>"))
    killed = subprocess.run([ESCALADE, "shell", "-c", KILL_AFTER_DECISION], env=site.env, capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert dovecot.count("INBOX") == 1  # decided, not moved

    subprocess.run([ESCALADE, "mail", "fetch"], env=site.env, check=True, capture_output=True)
    assert dovecot.count("INBOX") == 0 and dovecot.count("Traités") == 1
    with sqlite3.connect(site.db) as db:
        assert db.execute("SELECT count(*) FROM escalations_escalation").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM mail_inboundmessage").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM notifications_notification WHERE kind='mail_reply'").fetchone() == (1,)
    worker = subprocess.Popen([ESCALADE, "worker", "--interval", "0.2"], env=site.env)
    try:
        assert _wait(lambda: len([m for m in smtp.to("a@client-a.fr") if m["X-Escalade-Kind"] == "mail_reply"]) >= 1, 20)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)
    assert len([m for m in smtp.to("a@client-a.fr") if m["X-Escalade-Kind"] == "mail_reply"]) == 1
    assert os.environ.get("ESCALADE_MAIL_IMAP_URL") is None  # the test's settings stayed in the child


def test_mail_receive_reads_standard_input_with_no_imap_server(tmp_path: Path, smtp: SMTPSink) -> None:
    site = Site(tmp_path, smtp)
    raw = message(sender="inconnu@ailleurs.fr", subject="REQ-1042", body="x", message_id="<pipe@ailleurs.fr>")
    first = subprocess.run([ESCALADE, "mail", "receive"], input=raw, env=site.env, capture_output=True, check=True)
    again = subprocess.run([ESCALADE, "mail", "receive"], input=raw, env=site.env, capture_output=True, check=True)
    assert b"<pipe@ailleurs.fr>" in first.stdout and "déjà reçu" in again.stdout.decode()
    empty = subprocess.run([ESCALADE, "mail", "receive"], input=b"", env=site.env, capture_output=True)
    assert empty.returncode != 0
