"""The API against its own OpenAPI document (schemathesis, in process): every operation, as
anonymous, customer, partner, staff and admin, with generated valid and invalid input, then a
stateful phase chaining the calls; never a 5xx, never an answer the document does not describe
(status, content type, headers, body).

Bounded here (`ESCALADE_FUZZ_EXAMPLES`, default 12 per operation and role); `make fuzz` runs the
larger campaign. The figures are printed at the end of the run (tests/api/conftest.py).

World: REQ-1001 of customer A (partner P), REQ-2001 of customer B, both high, opened an hour before
Friday 2026-11-27 12:00 Paris (level 1 open), each with a level-1 escalation.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.checks import ignored_auth, negative_data_rejection, positive_data_acceptance

from api.conftest import FUZZ_FIGURES

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("ESCALADE_FUZZ_EXAMPLES", "12"))
STEPS = int(os.environ.get("ESCALADE_FUZZ_STEPS", "10"))
ROLES = ("anonymous", "customer_a", "partner_a", "staff", "admin")
# Valid by the document yet refused by the procedure (an acknowledgement before the opening, an
# instant in the future, a level not open yet): 422 with the rule's code, as the document says.
EXCLUDED = [positive_data_acceptance]
BOUNDED = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                   database=None, derandomize=True)


# Loaded when the module is collected: the document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _one_connection_per_test():
    """The calls go to the WSGI handler directly, not through Django's test client, which is what
    keeps the request signals from closing the test's connection (and its transaction) on PostgreSQL."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def scene(make_incident):
    from escalade.api import clock
    from escalade.escalations.services import request_escalation

    for number, customer in (("REQ-1001", "client-a"), ("REQ-2001", "client-b")):
        make_incident(number, customer=customer, ago=timedelta(hours=1))
        request_escalation(user=None, request_number=number, reason="auto", now=clock.now())


def headers_for(actor: str, tokens: dict[str, str]) -> dict[str, str]:
    return {} if actor == "anonymous" else {"Authorization": f"Bearer {tokens[actor]}"}


def record(case, response) -> None:
    key = f"{case.operation.method.upper()} {case.operation.path}"
    FUZZ_FIGURES["requests"] += 1
    FUZZ_FIGURES["operations"].add(key)
    if response.status_code >= 500:
        FUZZ_FIGURES["5xx"] += 1


@pytest.mark.parametrize("actor", ROLES)
@schema.parametrize()
@BOUNDED
def test_every_operation_answers_as_its_document_says(case, actor, tokens, scene):
    response = case.call(headers=headers_for(actor, tokens))
    record(case, response)
    case.validate_response(response, headers=headers_for(actor, tokens), excluded_checks=EXCLUDED)


@pytest.mark.parametrize("who", ("customer_a", "staff"))
def test_chained_calls_answer_as_the_document_says(who, tokens, scene):
    base = schema.as_state_machine()
    auth = headers_for(who, tokens)

    class Machine(base):  # type: ignore[misc, valid-type]
        # Each run of steps starts from the same database (a savepoint rolled back after it), so
        # that hypothesis can replay a run exactly.
        def __init__(self):
            super().__init__()
            self.savepoint = transaction.savepoint_create()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)
            super().teardown()

        def before_call(self, case):
            case.headers = {**(case.headers or {}), **auth}

        def after_call(self, response, case):
            record(case, response)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # The machine's calls carry a right token through `before_call`, over whatever header the
            # case generated: a case made invalid by its header only is then valid. The stateless
            # phase checks refused tokens and invalid input.
            case.validate_response(response, excluded_checks=[*EXCLUDED, ignored_auth, negative_data_rejection],
                                   transport_kwargs=kwargs or None)

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
        suppress_health_check=list(HealthCheck), database=None, derandomize=True))
