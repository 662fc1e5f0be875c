"""`escalade users add` and `escalade tokens create`: the printed token authenticates on the API."""

from __future__ import annotations

import pytest
from django.core.management import CommandError
from django.test import Client

from escalade.accounts.models import ApiToken, User

from .support import run

pytestmark = pytest.mark.django_db


def test_users_add_binds_a_customer_user_to_its_organisation(world):
    out = run("users", "add", "marie", "--role", "customer", "--customer", "client-a",
              "--email", "marie@client-a.fr", "--password", "Un-mot-de-passe-solide")
    assert "Utilisateur « marie » créé (client)" in out
    user = User.objects.get(username="marie")
    assert (user.customer, user.partner, user.email) == (world.customer_a, None, "marie@client-a.fr")
    assert user.check_password("Un-mot-de-passe-solide")


def test_users_add_records_the_language_of_the_answers_by_email(world):
    run("users", "add", "john", "--role", "customer", "--customer", "client-a", "--language", "en",
        "--password", "Un-mot-de-passe-solide")
    run("users", "add", "jean", "--role", "customer", "--customer", "client-a", "--password", "Un-mot-de-passe-solide")
    assert User.objects.get(username="john").language == "en"
    assert User.objects.get(username="jean").language == ""  # the organisation's


def test_users_add_generates_and_prints_a_password_when_none_is_given(world):
    out = run("users", "add", "paul", "--role", "partner", "--partner", "partenaire-p")
    password = out.strip().splitlines()[-1].removeprefix("Mot de passe : ")
    assert len(password) >= 12
    assert User.objects.get(username="paul").check_password(password)


def test_an_admin_user_can_open_the_admin_site(world):
    run("users", "add", "root", "--role", "admin", "--password", "Un-mot-de-passe-solide")
    user = User.objects.get(username="root")
    assert user.is_staff and user.is_superuser and user.is_internal


@pytest.mark.parametrize(("args", "message"), [
    (("--role", "customer"), "demande --customer"),
    (("--role", "customer", "--customer", "inconnu"), "Aucun client ne porte le code « inconnu »"),
    (("--role", "partner", "--partner", "nobody"), "Aucun partenaire"),
    (("--role", "staff", "--customer", "client-a"), "ni --customer ni --partner"),
    (("--role", "staff", "--password", "123"), "Mot de passe refusé"),
])
def test_users_add_refuses_inconsistent_scopes_in_french(world, args, message):
    with pytest.raises(CommandError, match=message):
        run("users", "add", "x", *args)
    assert not User.objects.filter(username="x").exists()


def test_users_add_refuses_an_existing_username(world):
    with pytest.raises(CommandError, match="existe déjà"):
        run("users", "add", "staff", "--role", "staff", "--password", "Un-mot-de-passe-solide")


def test_tokens_create_prints_the_token_alone_on_its_last_line_and_it_works(world, client):
    out = run("tokens", "create", "cust-a", "--name", "intégration")
    token = out.rstrip("\n").splitlines()[-1]
    assert token.startswith("esc_") and " " not in token
    assert ApiToken.objects.get(user__username="cust-a").name == "intégration"
    response = Client().get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_only_the_hash_of_a_token_is_stored(world):
    token = run("tokens", "create", "staff").rstrip("\n").splitlines()[-1]
    stored = ApiToken.objects.get(user__username="staff")
    assert token not in (stored.key_hash, stored.prefix) and stored.prefix == token[:12]


def test_a_revoked_token_no_longer_authenticates(world):
    token = run("tokens", "create", "staff").rstrip("\n").splitlines()[-1]
    assert "révoqué" in run("tokens", "revoke", token[:12])
    response = Client().get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401


def test_tokens_create_for_an_unknown_user_fails(world):
    with pytest.raises(CommandError, match="Aucun utilisateur ne s'appelle « personne »"):
        run("tokens", "create", "personne")
