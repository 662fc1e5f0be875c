"""A real IMAP server for the mail tests: Debian's dovecot, with its own configuration, users and
maildirs in a temporary directory, on a free port (never the system's dovecot)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

from notifications.support import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_login_user = {login_user}
mail_location = maildir:{root}/mail/%u
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


class Dovecot:
    USER, PASSWORD = "escalade", "mot-de-passe"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"imap://{self.USER}:{self.PASSWORD}@127.0.0.1:{self.port}"

    def start(self) -> Dovecot:
        internal = pwd.getpwnam("dovecot")
        login = "dovenull" if _exists("dovenull") else "dovecot"
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        os.chown(self.root / "mail", internal.pw_uid, internal.pw_gid)
        self.root.chmod(0o755)
        (self.root / "passwd").write_text(f"{self.USER}:{{PLAIN}}{self.PASSWORD}\n")
        (self.root / "dovecot.conf").write_text(CONFIG.format(
            root=self.root, user="dovecot", login_user=login, uid=internal.pw_uid, gid=internal.pw_gid,
            port=self.port))
        subprocess.run([DOVECOT, "-c", str(self.root / "dovecot.conf")], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen: {(self.root / 'dovecot.log').read_text()}")

    def stop(self) -> None:
        subprocess.run([DOVECOT, "-c", str(self.root / "dovecot.conf"), "stop"], check=False,
                       capture_output=True)

    def client(self):  # type: ignore[no-untyped-def]
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted("127.0.0.1", self.port).login(self.USER, self.PASSWORD, initial_folder=None)

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with self.client() as box:
            box.append(raw, folder)

    def count(self, folder: str) -> int:
        with self.client() as box:
            if not box.folder.exists(folder):
                return 0
            box.folder.set(folder)
            return len(box.uids())


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def message(*, sender: str, subject: str, body: str, message_id: str, charset: str = "utf-8",
            dmarc: bool = True, headers: dict[str, str] | None = None) -> bytes:
    """A message as a customer's mail client sends it, with the receiving MTA's verdict."""
    msg = EmailMessage()
    if dmarc:
        msg["Authentication-Results"] = "mx.hipcom.fr; spf=pass; dkim=pass; dmarc=pass header.from=client-a.fr"
    msg["From"] = sender
    msg["To"] = "escalade@hipcom.fr"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if charset.startswith("utf-16"):
        # Not line-based: sent in base64, from the encoded bytes (the stdlib's str path drops a byte).
        msg.set_content(body.encode(charset), maintype="text", subtype="plain", cte="base64")
        msg.set_param("charset", charset)
    else:
        msg.set_content(body, charset=charset)
    for name, value in (headers or {}).items():  # after set_content, which drops Content-* fields
        msg[name] = value
    return msg.as_bytes()
