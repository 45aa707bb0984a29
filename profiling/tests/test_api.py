import pytest

from metering.models import Customer
from metering.tests.factories import CustomerFactory
from profiling.models import BehavioralTag, CustomerProfile

pytestmark = pytest.mark.django_db


def _customer(organization, profiled):
    return (
        CustomerProfile.objects.filter(
            run=profiled, customer__organization=organization
        )
        .select_related("customer", "segment")
        .first()
    )


def test_profile_has_the_documented_shape(api_client, organization, profiled):
    profile = _customer(organization, profiled)
    response = api_client.get(
        f"/api/v1/customers/{profile.customer.external_id}/profile/"
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "segment", "tags", "next_operations", "predicted_counts", "end_users",
    }  # fmt: skip
    assert body["segment"] == {"id": profile.segment_id, "name": profile.segment.name}
    tags = BehavioralTag.objects.filter(run=profiled, customer=profile.customer)
    assert sorted(t["name"] for t in body["tags"]) == sorted(t.name for t in tags)
    assert all(set(t) == {"name", "score", "explanation"} for t in body["tags"])
    assert body["next_operations"] == profile.next_operations
    assert body["predicted_counts"] == profile.predicted_counts


def test_profile_accepts_primary_key(api_client, organization, profiled):
    profile = _customer(organization, profiled)
    response = api_client.get(f"/api/v1/customers/{profile.customer.pk}/profile")
    assert response.status_code == 200
    assert response.json()["segment"]["id"] == profile.segment_id


def test_profile_of_unprofiled_customer_is_empty(api_client, organization):
    customer = CustomerFactory(organization=organization)
    response = api_client.get(f"/api/v1/customers/{customer.pk}/profile/")
    assert response.status_code == 200
    assert response.json() == {
        "segment": None, "tags": [], "next_operations": [], "predicted_counts": {},
        "end_users": [],
    }  # fmt: skip


def test_profile_of_another_organization_is_404(
    api_client_for, other_organization, organization, profiled
):
    customer = Customer.objects.filter(organization=organization).first()
    client = api_client_for(other_organization)
    response = client.get(f"/api/v1/customers/{customer.pk}/profile/")
    assert response.status_code == 404


def test_predict_next_returns_k_sorted_predictions(api_client, organization, profiled):
    profile = _customer(organization, profiled)
    response = api_client.post(
        f"/api/v1/customers/{profile.customer.external_id}/predict-next/",
        {"sequence": ["image.resize", "image.crop"], "k": 3},
        format="json",
    )
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert len(predictions) == 3
    probabilities = [p["probability"] for p in predictions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert {p["operation"] for p in predictions} <= set(profiled.operations)


def test_predict_next_ignores_history_before_unknown_operation(
    api_client, organization, profiled
):
    profile = _customer(organization, profiled)
    url = f"/api/v1/customers/{profile.customer.pk}/predict-next/"
    plain = api_client.post(url, {"sequence": ["ml.train"], "k": 2}, format="json")
    cut = api_client.post(
        url, {"sequence": ["export.csv", "nope", "ml.train"], "k": 2}, format="json"
    )
    assert plain.json() != {} and plain.json()["predictions"]
    assert (
        cut.json()["predictions"]
        == api_client.post(
            url, {"sequence": ["ml.train"], "k": 2}, format="json"
        ).json()["predictions"]
    )


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (
            {"sequence": ["a"], "k": 0},
            "k",
            "Ensure this value is greater than or equal to 1.",
        ),
        (
            {"sequence": "a.b", "k": 3},
            "sequence",
            'Expected a list of items but got type "str".',
        ),
        ({"k": 3}, "sequence", "This field is required."),
    ],
)
def test_predict_next_rejects_bad_input(
    api_client, organization, payload, field, message
):
    customer = CustomerFactory(organization=organization)
    response = api_client.post(
        f"/api/v1/customers/{customer.pk}/predict-next/", payload, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {field: [message]}}


def test_segments_lists_latest_run(api_client, profiled):
    response = api_client.get("/api/v1/segments/")
    assert response.status_code == 200
    assert response.json()["count"] == 4
    body = response.json()["results"]
    assert [s["label"] for s in body] == [0, 1, 2, 3]
    assert sum(s["size"] for s in body) == 40
    assert all(s["run"] == profiled.pk for s in body)


def test_segments_of_another_organization_are_not_listed(
    api_client_for, other_organization, profiled
):
    response = api_client_for(other_organization).get("/api/v1/segments/")
    assert response.json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_predict_next_for_customer_outside_the_run_uses_global_chain(
    api_client, organization, profiled
):
    newcomer = CustomerFactory(organization=organization)
    response = api_client.post(
        f"/api/v1/customers/{newcomer.pk}/predict-next/",
        {"sequence": ["image.resize"], "k": 2},
        format="json",
    )
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 2


def test_predict_next_before_any_run_is_empty(api_client, organization):
    customer = CustomerFactory(organization=organization)
    response = api_client.post(
        f"/api/v1/customers/{customer.pk}/predict-next/",
        {"sequence": [], "k": 2},
        format="json",
    )
    assert response.json() == {"predictions": []}
