import datetime as dt
from decimal import Decimal

import pytest

from metering.tests.factories import CustomerFactory
from scaling.models import Recommendation, ResourceMetric
from scaling.services import provisioning
from scaling.services.recommendations import recommendation_generate
from scaling.tests.factories import ForecastFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC)


def item(**overrides):
    return {
        "customer_id": "acme",
        "resource": "compute_hours",
        "timestamp": "2026-01-01T10:00:00Z",
        "value": 12.5,
        **overrides,
    }


def test_metric_batch_is_idempotent(api_client, customer):
    body = {"metrics": [item(), item(timestamp="2026-01-01T11:00:00Z")]}
    first = api_client.post("/api/v1/metrics/batch/", body, format="json")
    assert first.status_code == 201
    assert first.json() == {
        "received": 2,
        "created": 2,
        "duplicates": 0,
        "replaced": 0,
    }
    again = api_client.post("/api/v1/metrics/batch", body, format="json")
    assert again.status_code == 200
    assert again.json() == {
        "received": 2,
        "created": 0,
        "duplicates": 2,
        "replaced": 0,
    }
    assert ResourceMetric.objects.filter(customer=customer).count() == 2


def test_measured_bandwidth_replaces_a_derived_point(api_client, customer):
    ResourceMetric.objects.create(
        organization=customer.organization,
        customer=customer,
        resource="bandwidth_gb",
        timestamp="2026-01-01T10:00:00Z",
        value=3.0,
        derived=True,
    )
    body = {
        "metrics": [
            item(resource="bandwidth_gb", value=4.25),
            item(resource="bandwidth_gb", timestamp="2026-01-01T11:00:00Z", value=1),
        ]
    }
    response = api_client.post("/api/v1/metrics/batch/", body, format="json")
    assert response.status_code == 201
    assert response.json() == {
        "received": 2,
        "created": 1,
        "duplicates": 0,
        "replaced": 1,
    }
    assert list(
        ResourceMetric.objects.filter(customer=customer)
        .order_by("timestamp")
        .values_list("value", "derived")
    ) == [(4.25, False), (1.0, False)]
    # Sent again: both are measured now, so both are duplicates.
    again = api_client.post("/api/v1/metrics/batch/", body, format="json").json()
    assert (again["duplicates"], again["replaced"]) == (2, 0)


def test_metric_batch_names_the_bad_item_fields(api_client, customer):
    body = {"metrics": [item(), item(value=-1, timestamp="yesterday", resource="CPU!")]}
    response = api_client.post("/api/v1/metrics/batch/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["metrics[1].value"] == [
        "Ensure this value is greater than or equal to 0."
    ]
    assert set(errors) == {
        "metrics[1].value", "metrics[1].timestamp", "metrics[1].resource",
    }  # fmt: skip
    assert errors["metrics[1].resource"] == [
        "Use lower-case letters, digits and underscores."
    ]
    assert ResourceMetric.objects.count() == 0


def test_metric_batch_unknown_customer_is_a_400(api_client, customer):
    response = api_client.post(
        "/api/v1/metrics/batch/",
        {"metrics": [item(customer_id="nobody")]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"metrics[0].customer_id": ["Unknown customer 'nobody'."]}
    }


def test_metric_batch_takes_the_deprecated_account_id(api_client, customer):
    legacy = item()
    legacy["account_id"] = legacy.pop("customer_id")
    both = item(account_id="acme", timestamp="2026-01-01T11:00:00Z")

    response = api_client.post(
        "/api/v1/metrics/batch/", {"metrics": [legacy, both]}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["created"] == 2
    assert ResourceMetric.objects.filter(customer=customer).count() == 2


@pytest.mark.parametrize(
    "fields, errors",
    [
        (
            {"customer_id": "acme", "account_id": "other"},
            {
                "metrics[0].account_id": [
                    "A deprecated alias of customer_id; give one of them."
                ]
            },
        ),
        ({}, {"metrics[0].customer_id": ["This field is required."]}),
    ],
)
def test_metric_batch_needs_one_customer(api_client, customer, fields, errors):
    body = item()
    del body["customer_id"]

    response = api_client.post(
        "/api/v1/metrics/batch/", {"metrics": [{**body, **fields}]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert ResourceMetric.objects.count() == 0


@pytest.mark.parametrize(
    "body, field",
    [({}, "metrics"), ({"metrics": []}, "metrics"), ({"metrics": "x"}, "metrics")],
)
def test_metric_batch_shape_errors(api_client, customer, body, field):
    response = api_client.post("/api/v1/metrics/batch/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize("collection", ["customers", "accounts"])
def test_forecast_by_pk_or_external_id(api_client, customer, collection):
    forecast = ForecastFactory(customer=customer)
    for key in (customer.pk, "acme"):
        response = api_client.get(
            f"/api/v1/{collection}/{key}/forecasts/?resource=compute_hours"
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["customer_id"], body["account_id"]) == ("acme", "acme")
        assert body["model"] == "ets"
        assert body["generated_at"] == "2025-12-31T12:00:00Z"
        assert body["backtest"] == {
            "mase": 0.5, "smape": 10.0, "coverage_80": 0.8, "coverage_95": 0.95,
            "baseline_mase": 1.0, "baseline_smape": 14.0,
        }  # fmt: skip
        assert body["points"] == forecast.points


def test_forecast_errors(api_client, customer, other_organization):
    theirs = CustomerFactory(organization=other_organization)
    ForecastFactory(customer=theirs)
    assert (
        api_client.get(
            f"/api/v1/customers/{theirs.pk}/forecasts/?resource=compute_hours"
        ).status_code
        == 404
    )
    missing = api_client.get("/api/v1/customers/acme/forecasts/")
    assert missing.status_code == 400
    assert missing.json() == {
        "errors": {"resource": ["This query parameter is required."]}
    }
    none_yet = api_client.get("/api/v1/customers/acme/forecasts/?resource=gpu")
    assert none_yet.json() == {"errors": {"resource": ["No forecast for 'gpu' yet."]}}


@pytest.fixture
def recommendation(customer, bundles):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=NOW
    )
    ForecastFactory(customer=customer)
    return recommendation_generate(customer=customer, now=NOW)


def test_recommendation_list(api_client, recommendation):
    response = api_client.get(
        "/api/v1/recommendations/?status=pending&customer_id=acme"
    )
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == recommendation.pk
    assert (row["customer_id"], row["account_id"]) == ("acme", "acme")
    assert row["recommended_bundle"] == "Growth Accelerator"
    assert row["current_bundle"] == "Startup Launch"
    assert (row["upgrade_cost"], row["net_benefit"]) == ("4.00", "116.00")
    bad = api_client.get("/api/v1/recommendations/?status=maybe")
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["status"]


def test_recommendation_list_by_customer(api_client, recommendation):
    by_id = api_client.get(
        f"/api/v1/recommendations/?customer_id={recommendation.customer_id}"
    )
    deprecated = api_client.get("/api/v1/recommendations/?account=acme")
    both = api_client.get("/api/v1/recommendations/?customer_id=acme&account=acme")

    for response in (by_id, deprecated, both):
        assert [row["id"] for row in response.json()["results"]] == [recommendation.pk]


@pytest.mark.parametrize(
    "query, errors",
    [
        ("customer_id=nobody", {"customer_id": ["Unknown customer 'nobody'."]}),
        ("account=nobody", {"account": ["Unknown customer 'nobody'."]}),
        (
            "customer_id=acme&account=other",
            {"account": ["A deprecated alias of customer_id; give one of them."]},
        ),
    ],
)
def test_recommendation_list_unknown_customer_is_a_400(
    api_client, recommendation, query, errors
):
    response = api_client.get(f"/api/v1/recommendations/?{query}")

    assert response.status_code == 400
    assert response.json() == {"errors": errors}


def test_approve_applies_and_second_approve_is_a_400(
    api_client, recommendation, django_capture_on_commit_callbacks
):
    url = f"/api/v1/recommendations/{recommendation.pk}/approve/"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(url)
    assert response.status_code == 200
    recommendation.refresh_from_db()
    assert recommendation.status == "applied"
    again = api_client.post(url)
    assert again.status_code == 400
    assert again.json() == {
        "errors": {
            "status": [f"recommendation {recommendation.pk} is applied, cannot approve"]
        }
    }


def test_reject(api_client, recommendation):
    response = api_client.post(f"/api/v1/recommendations/{recommendation.pk}/reject")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert Recommendation.objects.get().upgrade_cost == Decimal("4.00")


def test_other_organization_cannot_decide(
    api_client_for, other_organization, recommendation
):
    client = api_client_for(other_organization)
    url = f"/api/v1/recommendations/{recommendation.pk}/approve/"
    assert client.post(url).status_code == 404
    assert client.post("/api/v1/recommendations/abc/approve/").status_code == 404
