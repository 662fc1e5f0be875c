"""Production is the safe default: a documented profile whose `check --deploy` is clean, no known
key, no wildcard host, HTTPS and secure cookies, a Content-Security-Policy, no demo data."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest


def _escalade(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # The environment of a deployment: none of this suite's variables (the browser tests' runner sets
    # DJANGO_ALLOW_ASYNC_UNSAFE, which `check --deploy` rightly refuses).
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("ESCALADE_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base.update({"DJANGO_SETTINGS_MODULE": "escalade.settings", "ESCALADE_DATA_DIR": str(tmp_path),
                 "ESCALADE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **env})
    return subprocess.run([sys.executable, "-m", "escalade", *args], env=base, capture_output=True, text=True,
                          timeout=120, check=False)


PRODUCTION = {"ESCALADE_SECRET_KEY": secrets.token_urlsafe(50), "ESCALADE_ALLOWED_HOSTS": "escalade.example.com",
              "ESCALADE_EMAIL_URL": "smtp://mail.example.com:25"}


def test_the_documented_production_profile_passes_check_deploy(tmp_path: Path) -> None:
    done = _escalade(["check", "--deploy", "--fail-level", "WARNING"], tmp_path, **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    done = _escalade(["migrate"], tmp_path, ESCALADE_ALLOWED_HOSTS="escalade.example.com")
    assert done.returncode != 0 and "ESCALADE_SECRET_KEY must be set" in done.stderr


def test_the_development_key_and_local_hosts_only_when_asked_for(tmp_path: Path) -> None:
    show = "from escalade import settings as s; print(repr(s.SECRET_KEY), s.ALLOWED_HOSTS, s.SECURE_SSL_REDIRECT)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALADE_")}
    production = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True, check=True)
    assert production.stdout.strip() == "'' [] True"
    dev = subprocess.run([sys.executable, "-c", show], env={**env, "ESCALADE_DEV": "1"},
                         capture_output=True, text=True, check=True)
    assert dev.stdout.strip() == "'escalade-development-only-not-secret' ['127.0.0.1', 'localhost', '[::1]'] False"


@pytest.mark.django_db
def test_demo_data_is_refused_outside_development(settings) -> None:
    from django.core.management import CommandError, call_command

    settings.DEV = False
    with pytest.raises(CommandError, match="ESCALADE_DEV=1"):
        call_command("demo")


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy(client) -> None:
    policy = client.get("/procedure/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


@pytest.mark.django_db
def test_the_api_docs_use_the_bundled_swagger_ui_never_a_cdn(client) -> None:
    page = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn." not in page


def test_postgresql_binds_on_the_server_and_prepares_repeated_statements_by_default() -> None:
    from escalade.settings import database_from_url

    options = database_from_url("postgresql://escalade@db:5432/escalade?sslmode=require")["OPTIONS"]
    assert options == {"sslmode": "require", "server_side_binding": True, "prepare_threshold": 5}


def test_a_pooler_in_transaction_mode_turns_prepared_statements_off_from_the_url() -> None:
    from escalade.settings import database_from_url

    options = database_from_url(
        "postgresql://escalade@db:6432/escalade?prepare_threshold=none&server_side_binding=false")["OPTIONS"]
    assert options == {"server_side_binding": False, "prepare_threshold": None}
    assert database_from_url("postgresql://db/e?prepare_threshold=0")["OPTIONS"]["prepare_threshold"] == 0


@pytest.mark.parametrize("query", ["prepare_threshold=often", "server_side_binding=yes", "prepare_threshold=-1"])
def test_a_wrong_statement_option_stops_the_start_naming_it(query: str) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from escalade.settings import database_from_url

    with pytest.raises(ImproperlyConfigured, match="prepare_threshold"):
        database_from_url(f"postgresql://db/escalade?{query}")
