"""Every API operation in the OpenAPI schema, sent each hostile value: odd
whitespace, non-ASCII and out-of-range digits, NUL characters, deep nesting,
oversized bodies, loose numbers and far dates.

Each value goes into the path parameters, into every query parameter and into every
body field (alone, in a body that is otherwise valid, where the test knows one).
No answer may be a 5xx, and a 4xx must leave every table's row count unchanged.
"""

import json
from datetime import UTC, date, datetime

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from bundles.tests.factories import (
    BundleTemplateFactory,
    BundleTemplateOperationFactory,
    PersonalizedBundleFactory,
)
from invoices.tests.factories import ProviderChargeFactory, SubscriptionFactory
from metering.services import api_key_create
from metering.tests.factories import CustomerFactory, OrganizationFactory
from pricing.tests.factories import ActivityBasedConfigFactory

pytestmark = pytest.mark.django_db

OPERATIONS = [
    (method.upper(), path, operation)
    for path, methods in SchemaGenerator()
    .get_schema(request=None, public=True)["paths"]
    .items()
    for method, operation in methods.items()
]

DEEP = "deep"  # a JSON body nested far beyond the parser's limit
OVERSIZED = "oversized"  # a body beyond every endpoint's byte limit
ODD_AUTH = "odd-auth"  # the Authorization header: a keyword, then a no-break space

HOSTILE = {
    "no-break space": "\u00a0",
    "em space": "1\u2003",
    "superscript digit": "\u00b2",
    "Arabic-Indic digits": "\u0663\u0664",
    "20 digits": "99999999999999999999",
    "beyond bigint": "9223372036854775808",
    "beyond bigint (number)": 9223372036854775808,
    "exponent": "1e20",
    "underscores": "1_000",
    "negative": "-1",
    "boolean": True,
    "NaN": "NaN",
    "Infinity": "Infinity",
    "NUL": "a\x00b",
    "NUL nested": {"k\x00": ["x", {"y": "a\x00"}]},
    "year 1": "0001-01-01T00:00:00+00:00",
    "year 9999": "9999-12-31T23:59:59+00:00",
    DEEP: DEEP,
    OVERSIZED: OVERSIZED,
    ODD_AUTH: ODD_AUTH,
}

# Query parameters views read without declaring them in the schema.
QUERY_NAMES = (
    "limit", "offset", "cursor", "customer", "operation", "from", "to", "group_by",
    "status", "period", "account", "resource", "customer_id", "organization",
)  # fmt: skip


def _deep(levels: int = 5000) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def _valid_bodies(world) -> dict[tuple[str, str], dict]:
    """Bodies each operation would accept, so that one hostile field reaches the
    checks behind the serializer."""
    event = {
        "event_id": "e-1",
        "customer_id": "fuzz-1",
        "operation": "image.resize",
        "quantity": "2",
        "occurred_at": "2026-06-17T09:00:00+00:00",
        "user_id": "u-1",
        "context": "web",
        "properties": {"k": "v"},
    }
    billing_model = {
        "name": "Fuzz model",
        "subscription_fee": "10.00",
        "activity": {
            "activity_type": "tokens",
            "price_per_unit": "0.01",
            "tiers": [{"up_to": "100", "unit_price": "0.01"}],
        },
    }
    template = {
        "name": "Fuzz template",
        "discount_percent": "10",
        "validity": "custom",
        "validity_seconds": 3600,
        "operations": [{"operation": "image.resize", "included_quantity": "10"}],
        "target_tags": ["heavy"],
    }
    return {
        ("POST", "/api/v1/customers/"): {
            "external_id": "fuzz-new",
            "name": "New",
            "metadata": {"k": "v"},
        },
        ("PUT", "/api/v1/customers/{id}/"): {"external_id": "fuzz-1", "name": "N"},
        ("PATCH", "/api/v1/customers/{id}/"): {"name": "N", "metadata": {}},
        ("POST", "/api/v1/events/"): event,
        ("POST", "/api/v1/events/batch/"): {"events": [event]},
        ("POST", "/api/v1/billing-models/"): billing_model,
        ("PUT", "/api/v1/billing-models/{id}/"): billing_model,
        ("PATCH", "/api/v1/billing-models/{id}/"): {"subscription_fee": "5"},
        ("POST", "/api/v1/billing-models/{id}/calculate-cost/"): {
            "units": "10",
            "agents": 1,
        },
        ("POST", "/api/v1/bundle-templates/"): template,
        ("PUT", "/api/v1/bundle-templates/{id}/"): template,
        ("PATCH", "/api/v1/bundle-templates/{id}/"): {"validity_seconds": 60},
        ("POST", "/api/v1/operation-prices/"): {
            "operation": "image.crop",
            "unit_price": "0.02",
        },
        ("POST", "/api/v1/provider-charges/"): {
            "customer_id": "fuzz-1",
            "provider": "Twilio",
            "period": "2026-05",
            "amount": "1.00",
            "description": "SMS",
        },
        ("POST", "/api/v1/subscriptions/"): {
            "customer_id": "fuzz-1",
            "billing_model_id": world["billing_model"],
            "agents": 1,
            "starts_at": "2026-07-01T00:00:00+00:00",
        },
        ("POST", "/api/v1/customers/{key}/predict-next/"): {
            "sequence": ["image.resize"],
            "k": 2,
            "user_id": "u-1",
        },
        ("POST", "/api/v1/metrics/batch/"): {
            "metrics": [
                {
                    "account_id": "fuzz-1",
                    "resource": "cpu",
                    "timestamp": "2026-06-17T09:00:00+00:00",
                    "value": 1.5,
                }
            ]
        },
        ("POST", "/api/v1/invoices/{id}/void/"): {"reason": "wrong"},
    }


def _path_values(path: str, world) -> dict[str, str]:
    if path.startswith("/api/v1/billing-models/"):
        return {"id": str(world["billing_model"])}
    if path.startswith("/api/v1/bundle-templates/"):
        return {"id": str(world["template"])}
    if path.startswith("/api/v1/bundles/"):
        return {"id": str(world["bundle"])}
    return {"id": "fuzz-1", "key": "fuzz-1"}


def _fill(path: str, values: dict) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _row_counts_sql() -> str:
    tables = sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if model._meta.app_label
            in {"metering", "pricing", "profiling", "bundles", "invoices", "scaling"}
            and model._meta.managed
        }
    )
    return "SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)


@pytest.fixture
def world():
    organization = OrganizationFactory(slug="hostile")
    customer = CustomerFactory(organization=organization, external_id="fuzz-1")
    config = ActivityBasedConfigFactory(billing_model__organization=organization)
    template = BundleTemplateFactory(organization=organization)
    BundleTemplateOperationFactory(template=template, operation="image.resize")
    bundle = PersonalizedBundleFactory(
        customer=customer,
        valid_from=datetime(2026, 6, 17, tzinfo=UTC),
        valid_until=datetime(2026, 7, 17, tzinfo=UTC),
    )
    SubscriptionFactory(customer=customer, billing_model=config.billing_model)
    ProviderChargeFactory(customer=customer, period_start=date(2026, 5, 1))
    issued = api_key_create(organization=organization, name="hostile")
    return {
        "key": issued.raw_key,
        "billing_model": config.billing_model.pk,
        "template": template.pk,
        "bundle": bundle.pk,
    }


def _body(value, fields) -> dict:
    return {name: value for name in fields}


def _send(client, method, url, *, key, query=None, body=None, raw=None, auth=None):
    headers = {"HTTP_AUTHORIZATION": auth or f"Api-Key {key}"}
    if raw is not None:
        return client.generic(
            method, url, raw, content_type="application/json", **headers
        )
    if query:
        url = url + "?" + "&".join(f"{name}={value}" for name, value in query)
    if body is None:
        return client.generic(method, url, **headers)
    return client.generic(
        method, url, json.dumps(body), content_type="application/json", **headers
    )


def _quoted(value) -> str:
    from urllib.parse import quote

    return quote(value if isinstance(value, str) else json.dumps(value), safe="")


def test_no_hostile_value_reaches_a_server_error_or_a_write(world, settings):
    settings.API_MAX_BODY_BYTES = 64 * 1024
    client = Client(raise_request_exception=False)
    counts_sql = _row_counts_sql()
    bodies = _valid_bodies(world)
    oversized = json.dumps({"name": "x" * (9 * 1024 * 1024)})

    def counts():
        with connection.cursor() as cursor:
            cursor.execute(counts_sql)
            return cursor.fetchone()

    failures, tried, requests = [], 0, 0
    for method, path, operation in OPERATIONS:
        schema_fields = list(
            operation.get("requestBody", {})
            .get("content", {})
            .get("application/json", {})
            .get("schema", {})
            .get("properties", {})
        )
        valid = bodies.get((method, path))
        fields = list(dict.fromkeys(schema_fields + list(valid or {})))
        has_body = method in {"POST", "PUT", "PATCH"}
        # Deleting the shared objects would leave the other operations nothing to
        # find: deletions get hostile values in their path only.
        good_url = _fill(
            path,
            dict.fromkeys(("id", "key"), "0")
            if method == "DELETE"
            else _path_values(path, world),
        )
        for label, value in HOSTILE.items():
            tried += 1
            calls = []
            if value == DEEP:
                calls.append({"raw": _deep()})
            elif value == OVERSIZED:
                calls.append({"raw": oversized})
            elif value == ODD_AUTH:
                calls.append({"auth": "\u00a0"})
                calls.append({"auth": "Api-Key\u00a0\u00a0"})
                calls.append({"auth": " \x85\x1c "})
                calls.append({"auth": "   "})
            else:
                text = _quoted(value)
                if "{" in path:
                    names = [part[1:-1] for part in path.split("/") if "{" in part]
                    calls.append({"url": _fill(path, dict.fromkeys(names, text))})
                query = [(name, text) for name in QUERY_NAMES]
                calls.append({"query": query, "body": _body(value, fields)})
                if has_body:
                    calls.append({"body": value})
                for name in valid or {}:
                    calls.append({"body": {**valid, name: value}})
            for call in calls:
                before = counts()
                response = _send(
                    client,
                    method,
                    call.pop("url", good_url),
                    key=world["key"],
                    body=call.get("body") if has_body else None,
                    query=call.get("query"),
                    raw=call.get("raw") if has_body else None,
                    auth=call.get("auth"),
                )
                requests += 1
                status = response.status_code
                if status >= 500:
                    failures.append(f"{method} {path} [{label}] {call}: {status}")
                elif status >= 400 and counts() != before:
                    failures.append(f"{method} {path} [{label}]: {status} and a write")
                elif status >= 400 and status != 405:
                    problem = _shape_problem(response)
                    if problem:
                        failures.append(f"{method} {path} [{label}]: {problem}")
    print(
        f"{len(OPERATIONS)} operations x {len(HOSTILE)} hostile inputs = {tried}"
        f" pairs, {requests} requests"
    )
    assert not failures, "\n".join(failures)


def _shape_problem(response) -> str | None:
    if not response.get("Content-Type", "").startswith("application/json"):
        return f"{response.status_code} is not JSON"
    errors = response.json().get("errors")
    if not isinstance(errors, dict) or not all(
        isinstance(messages, list) and all(isinstance(m, str) for m in messages)
        for messages in errors.values()
    ):
        return f"{response.status_code} not in the error shape: {response.json()}"
    return None
