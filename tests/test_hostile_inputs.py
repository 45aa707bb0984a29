"""Every API operation in the OpenAPI schema, sent each hostile value: odd
whitespace, non-ASCII and out-of-range digits, NUL characters, deep nesting,
oversized bodies, loose numbers and far dates.

Each value goes into the path parameters, into every query parameter and into every
body field (alone, in a body that is otherwise valid, where the test knows one).
No answer may be a 5xx, and a 4xx must leave every table's row count unchanged.
"""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from bundles.models import BundleTemplate
from bundles.tests.factories import (
    BundleTemplateFactory,
    BundleTemplateOperationFactory,
    PersonalizedBundleFactory,
)
from invoices.models import ProviderCharge
from invoices.tests.factories import ProviderChargeFactory, SubscriptionFactory
from metering.models import Customer, WebhookEndpoint
from metering.services import api_key_create
from metering.tests.factories import CustomerFactory, OrganizationFactory
from pricing.models import BillingModel
from pricing.tests.factories import ActivityBasedConfigFactory
from scaling.models import ScalingPolicy
from tests.tables import row_counts

# Input handling does not depend on the date: one instant is enough.
pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-06-17T09:30:00+00:00")]

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
        ("POST", "/api/v1/customers/{id}/predict-next/"): {
            "sequence": ["image.resize"],
            "k": 2,
            "user_id": "u-1",
        },
        ("POST", "/api/v1/metrics/batch/"): {
            "metrics": [
                {
                    "customer_id": "fuzz-1",
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
    return {"id": "fuzz-1"}


def _fill(path: str, values: dict) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


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
    bodies = _valid_bodies(world)
    oversized = json.dumps({"name": "x" * (9 * 1024 * 1024)})

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
                before = row_counts()
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
                elif status >= 400 and row_counts() != before:
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


# One case per hostile input: the exact status and error body ----------------------

NUL = "Must not contain NUL characters."
NOT_FOUND = {"errors": {"detail": ["Not found."]}}


@pytest.fixture
def hostile_org():
    return OrganizationFactory(slug="hostile-cases")


@pytest.fixture
def api(hostile_org, api_client_for):
    return api_client_for(hostile_org)


@pytest.mark.parametrize("header", ["\u00a0", "   ", " \x85\x1c "])
def test_authorization_of_whitespace_alone_is_unauthenticated(client, header):
    response = client.get("/api/v1/customers/", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json() == {
        "errors": {"detail": ["Authentication credentials were not provided."]}
    }


def test_authorization_keyword_then_odd_whitespace_is_401(client):
    response = client.get("/api/v1/customers/", HTTP_AUTHORIZATION="Api-Key\u00a0")

    assert response.status_code == 401
    assert response.json() == {
        "errors": {
            "detail": ["Malformed Authorization header: expected 'Api-Key <key>'."]
        }
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/billing-models/\u00b2/",
        "/api/v1/billing-models/\u0663/",
        "/api/v1/invoices/99999999999999999999/",
        "/api/v1/bundle-templates/9223372036854775808/",
        "/api/v1/customers/\u0663/",
        "/api/v1/customers/\u00b2/usage/",
        "/api/v1/bundles/\u0663/",
        "/api/v1/recommendations/\u00b2/approve/",
        "/api/v1/customers/a%00b/",
    ],
)
def test_path_ids_beyond_ascii_digits_or_bigint_are_404(api, path):
    method = api.post if path.endswith("approve/") else api.get

    response = method(path)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_an_arabic_indic_id_never_finds_the_ascii_one(api, hostile_org):
    customer = CustomerFactory(organization=hostile_org, external_id="c-3")
    arabic = "".join(chr(0x0660 + int(digit)) for digit in str(customer.pk))

    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 200
    assert api.get(f"/api/v1/customers/{arabic}/").status_code == 404


@pytest.mark.parametrize(
    "value", ["1e20", "99999999999999999999", "\u00b2", "\u0663", "-1", "1_0"]
)
@pytest.mark.parametrize("name", ["limit", "offset"])
def test_pagination_numbers_are_ascii_whole_numbers(api, name, value):
    response = api.get("/api/v1/customers/", {name: value})

    assert response.status_code == 400
    assert response.json() == {
        "errors": {name: ["Must be a whole number of at most 18 digits."]}
    }


def test_event_list_limit_beyond_bigint_is_400(api):
    response = api.get("/api/v1/events/", {"limit": "99999999999999999999"})

    assert response.status_code == 400
    assert response.json() == {
        "errors": {"limit": ["Must be a whole number of at most 18 digits."]}
    }


def test_subscription_ids_in_the_body_are_ascii_integers(api, hostile_org):
    CustomerFactory(organization=hostile_org, external_id="c-1")
    body = {
        "customer_id": "c-1",
        "billing_model_id": "\u0663",
        "starts_at": "2026-07-01T00:00:00+00:00",
    }

    response = api.post("/api/v1/subscriptions/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": {"billing_model_id": ["A valid integer is required."]}
    }


def test_nul_in_a_query_parameter_is_400_naming_it(api):
    response = api.get("/api/v1/events/?operation=a%00b")

    assert response.status_code == 400
    assert response.json() == {"errors": {"operation": [NUL]}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_id": "c-1", "name": "a\x00"}, "name"),
        ({"external_id": "c-1", "name": "A", "metadata": {"a": {"b": "x\x00"}}},
         "metadata.a.b"),
        ({"external_id": "c-1", "name": "A", "metadata": {"a": ["ok", "\x00"]}},
         "metadata.a.1"),
        ({"external_id": "c-1", "name": "A", "metadata": {"k\x00": 1}}, "metadata"),
    ],
)  # fmt: skip
def test_nul_anywhere_in_a_body_is_400_naming_the_field(api, body, field):
    response = api.post("/api/v1/customers/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {field: [NUL]}}
    assert not Customer.objects.filter(external_id="c-1").exists()


def test_nul_in_bundle_template_target_tags_is_400(api):
    body = {
        "name": "T",
        "discount_percent": "10",
        "operations": [{"operation": "image.resize"}],
        "target_tags": ["heavy", {"name": "x\x00", "weight": 2}],
    }

    response = api.post("/api/v1/bundle-templates/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {"target_tags.1.name": [NUL]}}


def test_nul_in_event_properties_rejects_the_event(api, hostile_org):
    CustomerFactory(organization=hostile_org, external_id="c-1")
    event = {
        "event_id": "e-1",
        "customer_id": "c-1",
        "operation": "image.resize",
        "occurred_at": "2026-06-17T09:00:00+00:00",
        "properties": {"k": "a\x00"},
    }

    response = api.post("/api/v1/events/", event, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {"properties": [NUL]}}


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_json_nested_32_levels_is_accepted(api):
    body = {"external_id": "c-1", "name": "A", "metadata": _nested(31)}

    assert api.post("/api/v1/customers/", body, format="json").status_code == 201


def test_json_nested_deeper_than_32_levels_is_400(api):
    body = {"external_id": "c-1", "name": "A", "metadata": _nested(32)}

    response = api.post("/api/v1/customers/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": {"metadata": ["JSON may nest at most 32 levels."]}
    }


def test_json_nested_thousands_of_levels_is_400_not_a_recursion_error(api):
    body = '{"a":' * 100_000 + "1" + "}" * 100_000

    response = api.generic(
        "POST", "/api/v1/billing-models/", body, content_type="application/json"
    )

    assert response.status_code == 400
    (message,) = response.json()["errors"]["non_field_errors"]
    assert message.startswith("Request body is not valid JSON: depth limit exceeded")


def test_body_over_an_endpoints_limit_is_413_in_the_error_shape(api):
    body = json.dumps({"external_id": "c-1", "name": "x" * 2_000_000})

    response = api.generic(
        "POST", "/api/v1/customers/", body, content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json() == {
        "errors": {
            "non_field_errors": [
                f"Request body is {len(body)} bytes; this endpoint accepts at most "
                "1048576 bytes."
            ]
        }
    }


def test_event_batch_over_8_mib_is_413(api):
    body = json.dumps({"events": [{"context": "x" * 1000}] * 9_000})

    response = api.generic(
        "POST", "/api/v1/events/batch/", body, content_type="application/json"
    )

    assert response.status_code == 413
    assert "at most 8388608 bytes" in response.json()["errors"]["non_field_errors"][0]


def test_event_batch_of_10000_realistic_events_is_accepted(api, hostile_org):
    CustomerFactory(organization=hostile_org, external_id="customer-000001")
    events = [
        {
            "event_id": f"evt-2026-06-17-{index:08d}-0d5c1f7e9a",
            "customer_id": "customer-000001",
            "operation": "image.resize",
            "quantity": "1.5",
            "occurred_at": "2026-06-17T09:00:00+00:00",
            "user_id": f"user-{index % 250:05d}@example.com",
            "process_id": f"proc-7f3a9c2e-{index % 40:04d}",
            "context": "web/checkout/step-2?campaign=summer-sale",
            "properties": {"region": "eu-west-1", "size": "1024x768", "retry": 0},
        }
        for index in range(10_000)
    ]
    body = json.dumps({"events": events})
    assert len(body) > 2_621_440  # Django's default limit refused it

    response = api.generic(
        "POST", "/api/v1/events/batch/", body, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["accepted"] == 10_000


@pytest.mark.parametrize("value", ["1_000", "\u0663", "\u00b2", True, "NaN",
                                   "Infinity", "1e3", " "])  # fmt: skip
def test_amounts_are_json_numbers_or_plain_decimal_strings(api, hostile_org, value):
    CustomerFactory(organization=hostile_org, external_id="c-1")
    body = {"customer_id": "c-1", "provider": "AWS", "period": "2026-05",
            "amount": value}  # fmt: skip

    response = api.post("/api/v1/provider-charges/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {"amount": ["A valid number is required."]}}


@pytest.mark.parametrize("value", ["1_000", "\u0663", True, "NaN", "1e3"])
def test_cost_units_are_plain_numbers(api, hostile_org, value):
    model = ActivityBasedConfigFactory(billing_model__organization=hostile_org)

    response = api.post(
        f"/api/v1/billing-models/{model.billing_model.pk}/calculate-cost/",
        {"units": value},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"errors": {"units": ["A valid number is required."]}}


@pytest.mark.parametrize("value", ["1_000", "\u0663\u0664", "1e3"])
def test_event_quantity_is_a_plain_number(api, hostile_org, value):
    CustomerFactory(organization=hostile_org, external_id="c-1")
    event = {"event_id": "e-1", "customer_id": "c-1", "operation": "image.resize",
             "occurred_at": "2026-06-17T09:00:00+00:00", "quantity": value}  # fmt: skip

    response = api.post("/api/v1/events/", event, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {"quantity": ["Must be a number."]}}


@pytest.mark.parametrize(
    "value", ["1999-12-31T23:59:59+00:00", "2101-01-01T00:00:00+00:00"]
)
def test_subscription_start_is_within_the_years_2000_to_2100(api, hostile_org, value):
    CustomerFactory(organization=hostile_org, external_id="c-1")
    model = ActivityBasedConfigFactory(billing_model__organization=hostile_org)
    body = {"customer_id": "c-1", "billing_model_id": model.billing_model.pk,
            "starts_at": value}  # fmt: skip

    response = api.post("/api/v1/subscriptions/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": {"starts_at": ["Must be between the years 2000 and 2100."]}
    }


def test_metric_timestamp_is_within_the_years_2000_to_2100(api, hostile_org):
    CustomerFactory(organization=hostile_org, external_id="c-1")
    metric = {"customer_id": "c-1", "resource": "cpu",
              "timestamp": "0001-01-01T00:00:00+00:00", "value": True}  # fmt: skip

    response = api.post("/api/v1/metrics/batch/", {"metrics": [metric]}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "metrics[0].timestamp": ["Must be between the years 2000 and 2100."],
            "metrics[0].value": ["A valid number is required."],
        }
    }


@pytest.mark.parametrize("seconds", ["99999999999999999999", 316_224_001])
def test_bundle_template_validity_seconds_beyond_ten_years_is_400(api, seconds):
    body = {"name": "T", "discount_percent": "10", "validity": "custom",
            "validity_seconds": seconds,
            "operations": [{"operation": "image.resize"}]}  # fmt: skip

    response = api.post("/api/v1/bundle-templates/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "validity_seconds": [
                "Ensure this value is less than or equal to 316224000."
            ]
        }
    }


def _hide_existing_rows(monkeypatch, model):
    """The request that checked for a same-named row before another request's
    insert committed: the check finds nothing, the insert then collides."""
    exists = QuerySet.exists
    monkeypatch.setattr(
        QuerySet, "exists", lambda qs: False if qs.model is model else exists(qs)
    )


def test_same_name_bundle_template_written_concurrently_is_409(
    api, hostile_org, monkeypatch
):
    BundleTemplateFactory(organization=hostile_org, name="Heavy")
    _hide_existing_rows(monkeypatch, BundleTemplate)
    body = {"name": "Heavy", "discount_percent": "10",
            "operations": [{"operation": "image.resize"}]}  # fmt: skip

    response = api.post("/api/v1/bundle-templates/", body, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "errors": {"name": ["A bundle template named 'Heavy' already exists."]}
    }
    assert BundleTemplate.objects.filter(organization=hostile_org).count() == 1


def test_same_name_billing_model_written_concurrently_is_409(
    api, hostile_org, monkeypatch
):
    ActivityBasedConfigFactory(
        billing_model__organization=hostile_org, billing_model__name="Pro"
    )
    _hide_existing_rows(monkeypatch, BillingModel)
    body = {
        "name": "Pro",
        "activity": {"activity_type": "tokens", "price_per_unit": "0.01"},
    }

    response = api.post("/api/v1/billing-models/", body, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "errors": {"name": ["A billing model named 'Pro' already exists."]}
    }
    assert BillingModel.objects.filter(organization=hostile_org).count() == 1


@pytest.mark.parametrize(
    ("amount", "reason", "errors"),
    [
        ("-5.00", "", {"amount": [
            "A negative amount is a credit: give its credit_reason."]}),
        ("5.00", "refund", {"credit_reason": [
            "Only a credit (a negative amount) has a reason."]}),
        ("1000000.01", "", {"amount": [
            "Must be between -1000000.00 and 1000000.00."]}),
        ("-1000000.01", "refund", {"amount": [
            "Must be between -1000000.00 and 1000000.00."]}),
    ],
)  # fmt: skip
def test_provider_charge_credits_and_bounds(api, hostile_org, amount, reason, errors):
    CustomerFactory(organization=hostile_org, external_id="c-1")
    body = {"customer_id": "c-1", "provider": "AWS", "period": "2026-05",
            "amount": amount, "credit_reason": reason}  # fmt: skip

    response = api.post("/api/v1/provider-charges/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert not ProviderCharge.objects.filter(organization=hostile_org).exists()


def test_provider_charge_credit_with_a_reason_is_recorded(api, hostile_org):
    CustomerFactory(organization=hostile_org, external_id="c-1")
    body = {"customer_id": "c-1", "provider": "AWS", "period": "2026-05",
            "amount": "-5.00", "credit_reason": "outage refund"}  # fmt: skip

    response = api.post("/api/v1/provider-charges/", body, format="json")

    assert response.status_code == 201
    charge = ProviderCharge.objects.get(organization=hostile_org)
    assert charge.amount == Decimal("-5.00")
    assert charge.description == "Credit: outage refund"


@pytest.mark.parametrize(
    ("secret", "valid"), [("", False), ("s" * 31, False), ("s" * 32, True),
                          ("é" * 16, True)],
)  # fmt: skip
def test_webhook_url_needs_a_secret_of_32_bytes(hostile_org, secret, valid):
    customer = CustomerFactory(organization=hostile_org)
    policy = ScalingPolicy(
        organization=hostile_org, customer=customer,
        webhook_url="https://example.com/hook", webhook_secret=secret,
    )  # fmt: skip
    message = {"webhook_secret": ["A webhook URL needs a secret of at least 32 bytes."]}

    if valid:
        policy.clean()
    else:
        with pytest.raises(ValidationError) as error:
            policy.clean()
        assert error.value.message_dict == message


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "An endpoint needs a secret."),
        ("s" * 40, "A secret starts with 'whsec_'."),
        ("whsec_not base64!", "A secret's key is base64 after the prefix."),
        ("whsec_" + "MTIz" * 10, "A secret's key is at least 32 bytes."),  # 30
        ("whsec_w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=", None),  # "é" * 16
    ],
)
def test_webhook_endpoint_secret_is_a_whsec_key_of_32_bytes(
    hostile_org, secret, message
):
    endpoint = WebhookEndpoint(
        organization=hostile_org, url="https://example.com/hook", secret=secret
    )

    if message is None:
        endpoint.clean()
    else:
        with pytest.raises(ValidationError) as error:
            endpoint.clean()
        assert error.value.message_dict == {"secret": [message]}


def test_bundle_template_validity_seconds_beyond_64_bits_is_400(api):
    body = {"name": "T", "discount_percent": "10", "validity": "custom",
            "validity_seconds": 10**20,
            "operations": [{"operation": "image.resize"}]}  # fmt: skip

    response = api.post("/api/v1/bundle-templates/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": {"validity_seconds": ["A valid integer is required."]}
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0001-01-01T00:00:00+01:00", "Must be between the years 2000 and 2100."),
        ("9999-12-31", "Must be between the years 2000 and 2100."),
        ("\u0662\u0660\u0662\u0666-01-01",
         "Use an ISO 8601 date or date-time with a time zone."),
    ],  # fmt: skip
)
@pytest.mark.parametrize("path", ["/api/v1/events/", "/api/v1/customers/c-1/usage/"])
def test_time_range_parameters_are_bounded(api, hostile_org, path, value, message):
    CustomerFactory(organization=hostile_org, external_id="c-1")
    response = api.get(path, {"from": value})

    assert response.status_code == 400
    assert response.json() == {"errors": {"from": [message]}}
