"""A real Request Tracker 5 for the sync tests: Debian's request-tracker5 with its SQLite backend and
standalone server, its own configuration and database in a temporary directory, on a free port
(never the system's RT nor its database)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from notifications.support import free_port

RT_SERVER = "/usr/share/request-tracker5/libexec/rt-server"
RT_SETUP = "/usr/sbin/rt-setup-database-5"
ROOT_PASSWORD = "password"  # RT's initial root password (rt-setup-database's initial data)



# An RT scrip that calls Escalade's webhook after each change (at the end of RT's request, once the
# change is committed), as docs/helpdesks.md shows: the site's own HTTP::Tiny, no module to install.
WEBHOOK_SCRIP = r"""
@Scrips = ({
    Description => 'Escalade : webhook',
    ScripCondition => 'On Transaction',
    ScripAction => 'User Defined',
    Template => 'Blank',
    Stage => 'TransactionBatch',
    CustomPrepareCode => 'return 1;',
    CustomCommitCode => q{
        require HTTP::Tiny; require JSON;
        my $url = RT->Config->Get('EscaladeWebhookURL') or return 1;
        HTTP::Tiny->new(timeout => 10)->post($url, {
            headers => { 'Content-Type' => 'application/json',
                         'Authorization' => 'Bearer ' . RT->Config->Get('EscaladeWebhookToken') },
            content => JSON::encode_json({ ticket => $self->TicketObj->id + 0 }) });
        return 1;
    },
});
1;
"""


@dataclass
class RTServer:
    home: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    webhook: tuple[str, str] | None = None  # (URL, bearer token) the scrip calls

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        # RT_SITE_CONFIG_DIR: an empty directory, so that the system's RT_SiteConfig.d (its database) is not read.
        return {**os.environ, "RT_SITE_CONFIG": str(self.home / "RT_SiteConfig.pm"),
                "RT_SITE_CONFIG_DIR": str(self.home / "RT_SiteConfig.d")}

    def configure(self) -> None:
        self.write_config()
        subprocess.run([RT_SETUP, "--action", "init", "--skip-create"], env=self.env(), cwd=self.home, check=True,
                       capture_output=True, timeout=300)
        if self.webhook:
            (self.home / "scrip.pl").write_text(WEBHOOK_SCRIP, encoding="utf-8")
            subprocess.run([RT_SETUP, "--action", "insert", "--datafile", str(self.home / "scrip.pl"), "--skip-create"],
                           env=self.env(), cwd=self.home, check=True, capture_output=True, timeout=300)

    def write_config(self) -> None:
        """RT's site configuration in the home: its database there, on this port."""
        (self.home / "RT_SiteConfig.d").mkdir(parents=True, exist_ok=True)
        for sub in ("mason", "session"):
            (self.home / sub).mkdir(exist_ok=True)
        (self.home / "RT_SiteConfig.pm").write_text(f"""
Set($rtname, 'escalade-test');
Set($Organization, 'escalade.test');
Set($WebDomain, '127.0.0.1');
Set($WebPort, {self.port});
Set($WebBaseURL, '{self.url}');
Set($WebPath, '');
Set($DatabaseType, 'SQLite');
Set($DatabaseName, '{self.home / "rt.sqlite3"}');
Set($DatabaseHost, '');
Set($DatabaseUser, '');
Set($DatabasePassword, '');
Set($MasonDataDir, '{self.home / "mason"}');
Set($MasonSessionDir, '{self.home / "session"}');
Set($LogToSTDERR, 'error');
Set($LogToSyslog, '');
Set($LogToFile, '');
Set($Timezone, 'Europe/Paris');
""" + (f"Set($EscaladeWebhookURL, '{self.webhook[0]}');\nSet($EscaladeWebhookToken, '{self.webhook[1]}');\n"
       if self.webhook else "") + "1;\n", encoding="utf-8")

    def start(self) -> None:
        log = (self.home / "server.log").open("ab")
        self.process = subprocess.Popen([RT_SERVER, "--port", str(self.port)], env=self.env(), cwd=self.home,
                                        stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/REST/2.0/", timeout=2)
            except urllib.error.HTTPError:
                return  # 401: RT answers
            except OSError:
                assert self.process.poll() is None, (self.home / "server.log").read_text(errors="replace")[-2000:]
                assert time.monotonic() < deadline, "Request Tracker did not answer within 2 minutes"
                time.sleep(0.3)
            else:
                return

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None


def start_rt(home: Path, webhook: tuple[str, str] | None = None) -> RTServer:
    if not (os.path.exists(RT_SERVER) and os.path.exists(RT_SETUP)):
        pytest.fail("Request Tracker 5 is missing: `make rt` installs Debian's request-tracker5")
    server = RTServer(home, free_port(), webhook=webhook)
    server.configure()
    server.start()
    return server


@pytest.fixture(scope="session")
def rt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RTServer]:
    server = start_rt(tmp_path_factory.mktemp("rt"))
    yield server
    server.stop()
    shutil.rmtree(server.home, ignore_errors=True)
