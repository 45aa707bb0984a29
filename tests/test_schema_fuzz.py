"""Every API operation in the OpenAPI schema, fuzzed: never a 5xx, never off-schema.

The schema is generated in-process by drf-spectacular, so each endpoint a later app
adds is fuzzed here without further wiring. Examples per operation are bounded to
keep the suite fast; raise FUZZ_EXAMPLES for a deeper local run.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from billing_site.wsgi import application
from metering.services import api_key_create
from metering.tests.factories import CustomerFactory, OrganizationFactory

schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True)
)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


@pytest.fixture
def wsgi_app():
    """The WSGI app, minus the per-request connection close (the test holds a
    transaction open), as Django's own test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(db):
    organization = OrganizationFactory(slug="fuzz")
    CustomerFactory(organization=organization, external_id="fuzz-1")
    issued = api_key_create(organization=organization, name="fuzz")
    return {"Authorization": f"Api-Key {issued.raw_key}"}


@pytest.mark.django_db
# Generated input, not dates, is under test here: one instant is enough.
@pytest.mark.clock("2026-06-17T09:30:00+00:00")
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_operation(case, wsgi_app, auth_headers):
    case.call_and_validate(
        app=wsgi_app,
        headers=auth_headers,
        checks=[
            not_a_server_error,
            response_schema_conformance,
            content_type_conformance,
        ],
    )
