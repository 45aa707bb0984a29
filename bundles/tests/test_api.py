import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from bundles.models import BundleTemplate, OperationPrice, PersonalizedBundle
from bundles.tests.factories import (
    BundleTemplateFactory,
    BundleTemplateOperationFactory,
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

TEMPLATE = {
    "name": "Image Processing Suite",
    "description": "Resize, crop and convert",
    "operations": [
        {"operation": "image.resize", "included_quantity": 1000},
        {"operation": "image.crop", "included_quantity": "500"},
        {"operation": "image.convert", "included_quantity": None},
    ],
    "discount_percent": 20,
    "validity": "week",
    "target_tags": ["heavy:image.*", {"name": "bursty", "weight": 0.5}],
    "target_segments": ["Image-heavy batch users"],
}


def live_bundle(organization, **extra):
    now = timezone.now()
    bundle = PersonalizedBundleFactory(
        customer=CustomerFactory(organization=organization, external_id="cus_img"),
        valid_from=now - dt.timedelta(hours=1),
        valid_until=now + dt.timedelta(days=1),
        **extra,
    )
    PersonalizedBundleLineFactory(bundle=bundle)
    return bundle


def test_post_operation_price_creates_then_replaces(api_client, organization):
    response = api_client.post(
        "/api/v1/operation-prices/",
        {"operation": "image.resize", "unit_price": "0.02"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "id": response.json()["id"],
        "operation": "image.resize",
        "unit_price": "0.02",
        "customer_id": None,
    }

    api_client.post(
        "/api/v1/operation-prices",
        {"operation": "image.resize", "unit_price": 0.025},
        format="json",
    )

    assert list(
        OperationPrice.objects.filter(organization=organization).values_list(
            "operation", "unit_price"
        )
    ) == [("image.resize", Decimal("0.025"))]


def test_operation_price_override_for_a_customer(api_client, organization):
    CustomerFactory(organization=organization, external_id="cus_42")

    response = api_client.post(
        "/api/v1/operation-prices/",
        {"operation": "export.pdf", "unit_price": "0.2", "customer_id": "cus_42"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["customer_id"] == "cus_42"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"unit_price": "1"}, "operation", "This field is required."),
        (
            {"operation": "a", "unit_price": "-1"},
            "unit_price",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            {"operation": "a", "unit_price": "abc"},
            "unit_price",
            "A valid number is required.",
        ),
    ],
)
def test_operation_price_bad_input_is_a_400_naming_the_field(
    api_client, payload, field, message
):
    response = api_client.post("/api/v1/operation-prices/", payload, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {field: [message]}}


def test_template_crud_round_trips_the_nested_shape(api_client, organization):
    created = api_client.post("/api/v1/bundle-templates/", TEMPLATE, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body == {
        "id": body["id"],
        "name": "Image Processing Suite",
        "description": "Resize, crop and convert",
        "operations": [
            {"operation": "image.convert", "included_quantity": None},
            {"operation": "image.crop", "included_quantity": "500"},
            {"operation": "image.resize", "included_quantity": "1000"},
        ],
        "discount_percent": "20",
        "fixed_price": None,
        "validity": "week",
        "validity_seconds": None,
        "target_tags": ["heavy:image.*", {"name": "bursty", "weight": "0.5"}],
        "target_segments": ["Image-heavy batch users"],
        "is_active": True,
    }
    url = f"/api/v1/bundle-templates/{body['id']}/"

    assert api_client.get(url).json() == body
    assert api_client.get("/api/v1/bundle-templates/").json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [body],
    }

    patched = api_client.patch(
        url,
        {"discount_percent": "25", "operations": [{"operation": "image.resize"}]},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["discount_percent"] == "25"
    assert patched.json()["operations"] == [
        {"operation": "image.resize", "included_quantity": None}
    ]
    assert patched.json()["target_segments"] == ["Image-heavy batch users"]

    replaced = api_client.put(
        url, {**TEMPLATE, "name": "Images", "validity": "day"}, format="json"
    )
    assert replaced.status_code == 200
    assert (replaced.json()["name"], replaced.json()["validity"]) == ("Images", "day")

    assert api_client.delete(url).status_code == 204
    assert not BundleTemplate.objects.exists()


def test_template_without_targets_is_accepted(api_client):
    payload = {
        "name": "Exports",
        "operations": [{"operation": "export.csv", "included_quantity": 100}],
        "discount_percent": "10",
        "validity": "month",
    }

    response = api_client.post("/api/v1/bundle-templates/", payload, format="json")

    assert response.status_code == 201
    assert response.json()["target_tags"] == []


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"validity": "year"}, {"validity": ['"year" is not a valid choice.']}),
        (
            {"discount_percent": 120},
            {"discount_percent": ["Ensure this value is less than or equal to 100."]},
        ),
        (
            {"operations": []},
            {"operations": ["This list may not be empty."]},
        ),
        (
            {"operations": [{"operation": "a", "included_quantity": 0}]},
            {
                "operations.0.included_quantity": [
                    "Must be positive, or null for unlimited."
                ]
            },
        ),
        (
            {"fixed_price": "10.00"},
            {"fixed_price": ["Give a discount percent or a fixed price, not both."]},
        ),
        (
            {"validity": "custom"},
            {"validity_seconds": ["A custom validity needs a duration."]},
        ),
        (
            {"target_tags": [{"name": "x", "weight": -1}]},
            {"target_tags.0": ["weight must be a positive number."]},
        ),
        (
            {
                "operations": [
                    {"operation": "a", "included_quantity": 1},
                    {"operation": "a", "included_quantity": 2},
                ]
            },
            {"operations": ["Each operation may appear once."]},
        ),
    ],
)
def test_template_bad_input_is_a_400_naming_the_field(api_client, change, errors):
    response = api_client.post(
        "/api/v1/bundle-templates/", {**TEMPLATE, **change}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"errors": errors}


def test_duplicate_template_name_is_a_400(api_client):
    api_client.post("/api/v1/bundle-templates/", TEMPLATE, format="json")

    response = api_client.post("/api/v1/bundle-templates/", TEMPLATE, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "name": ["A bundle template named 'Image Processing Suite' already exists."]
        }
    }


def test_custom_validity_takes_seconds(api_client):
    response = api_client.post(
        "/api/v1/bundle-templates/",
        {**TEMPLATE, "validity": "custom", "validity_seconds": 7200},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["validity_seconds"] == 7200
    template = BundleTemplate.objects.get()
    assert template.custom_duration == dt.timedelta(hours=2)


def test_customer_bundles_by_external_id_or_primary_key(api_client, organization):
    bundle = live_bundle(organization)
    template = BundleTemplateFactory(organization=organization, name="Images")
    bundle.templates.add(template)

    by_external = api_client.get("/api/v1/customers/cus_img/bundles/")
    by_pk = api_client.get(f"/api/v1/customers/{bundle.customer_id}/bundles")

    assert by_external.status_code == 200
    assert by_external.json() == by_pk.json()
    assert by_external.json()["count"] == 1
    (body,) = by_external.json()["results"]
    assert body == {
        "id": bundle.pk,
        "customer_id": "cus_img",
        "status": "offered",
        "currency": "USD",
        "price": "25.20",
        "list_value": "30.00",
        "discount": "6.00",
        "upsell": "1.20",
        "expected_saving": "2.80",
        "valid_from": body["valid_from"],
        "valid_until": body["valid_until"],
        "templates": ["Images"],
        "lines": [
            {
                "operation": "image.resize",
                "included_quantity": "1000",
                "unit_price": "0.02",
            }
        ],
        "reasons": {},
    }


def test_accept_then_decline_is_refused(api_client, organization):
    bundle = live_bundle(organization)

    accepted = api_client.post(f"/api/v1/bundles/{bundle.pk}/accept/")
    declined = api_client.post(f"/api/v1/bundles/{bundle.pk}/decline/")

    assert accepted.status_code == 200
    assert accepted.json()["status"] == "active"
    assert declined.status_code == 400
    assert declined.json() == {
        "errors": {
            "status": [
                f"Bundle {bundle.pk} is active; only an offered bundle can be declined."
            ]
        }
    }


def test_decline(api_client, organization):
    bundle = live_bundle(organization)

    response = api_client.post(f"/api/v1/bundles/{bundle.pk}/decline")

    assert response.status_code == 200
    assert response.json()["status"] == "declined"


def test_accept_after_validity_is_a_400(api_client, organization):
    bundle = live_bundle(organization)
    PersonalizedBundle.objects.filter(pk=bundle.pk).update(
        valid_until=timezone.now() - dt.timedelta(minutes=1)
    )

    response = api_client.post(f"/api/v1/bundles/{bundle.pk}/accept/")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["valid_until"]


def test_unknown_customer_or_bundle_is_a_404(api_client):
    assert api_client.get("/api/v1/customers/nobody/bundles/").status_code == 404
    assert api_client.post("/api/v1/bundles/999999/accept/").status_code == 404


def test_without_a_key_is_refused(client):
    response = client.get("/api/v1/bundle-templates/")

    assert response.status_code in (401, 403)


class TestTenantIsolation:
    """Organization B's key sees none of organization A's objects."""

    @pytest.fixture
    def a_objects(self, organization):
        template = BundleTemplateFactory(organization=organization)
        BundleTemplateOperationFactory(template=template)
        return {"template": template, "bundle": live_bundle(organization)}

    @pytest.fixture
    def b_client(self, other_organization, api_client_for):
        return api_client_for(other_organization)

    def test_templates(self, a_objects, b_client):
        url = f"/api/v1/bundle-templates/{a_objects['template'].pk}/"
        assert b_client.get("/api/v1/bundle-templates/").json()["results"] == []
        assert b_client.get(url).status_code == 404
        assert b_client.patch(url, {"name": "x"}, format="json").status_code == 404
        assert b_client.put(url, TEMPLATE, format="json").status_code == 404
        assert b_client.delete(url).status_code == 404
        assert BundleTemplate.objects.filter(pk=a_objects["template"].pk).exists()

    def test_customer_bundles(self, a_objects, b_client):
        bundle = a_objects["bundle"]
        assert b_client.get("/api/v1/customers/cus_img/bundles/").status_code == 404
        assert (
            b_client.get(f"/api/v1/customers/{bundle.customer_id}/bundles/").status_code
            == 404
        )

    def test_bundle_actions(self, a_objects, b_client):
        bundle = a_objects["bundle"]
        assert b_client.get(f"/api/v1/bundles/{bundle.pk}/").status_code == 404
        assert b_client.post(f"/api/v1/bundles/{bundle.pk}/accept/").status_code == 404
        assert b_client.post(f"/api/v1/bundles/{bundle.pk}/decline/").status_code == 404
        bundle.refresh_from_db()
        assert bundle.status == "offered"

    def test_operation_prices(self, organization, a_objects, b_client, api_client):
        api_client.post(
            "/api/v1/operation-prices/",
            {"operation": "a", "unit_price": "1"},
            format="json",
        )
        assert b_client.get("/api/v1/operation-prices/").json()["results"] == []
        response = b_client.post(
            "/api/v1/operation-prices/",
            {"operation": "a", "unit_price": "1", "customer_id": "cus_img"},
            format="json",
        )
        assert response.status_code == 404


def test_non_numeric_template_id_is_a_404(api_client):
    assert api_client.get("/api/v1/bundle-templates/abc/").status_code == 404
    assert api_client.delete("/api/v1/bundle-templates/%20/").status_code == 404
