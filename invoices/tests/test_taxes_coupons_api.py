"""The taxes and coupons API: tax rates, a customer's tax profile, coupons and
their redemption, each bad input a 400 naming its field; redemptions counted
exactly under concurrent requests; the invoice's figures in its JSON."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from bundles.tests.factories import OperationPriceFactory
from invoices import services
from invoices.models import Coupon, CouponRedemption, CustomerTaxProfile, TaxRate
from invoices.periods import MONTHLY, Period
from invoices.tests.conftest import ingest
from invoices.tests.factories import CouponFactory, TaxRateFactory
from metering.tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-10-05T12:00:00+00:00")]

VAT = {"code": "VAT20", "name": "VAT", "rate_percent": "20", "country": "FR"}
COUPON = {"code": "SPRING20", "name": "Spring", "percent_off": "20",
          "duration": "repeating", "duration_in_periods": 3}  # fmt: skip


def _errors(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


def test_create_and_list_tax_rates(api_client, organization):
    response = api_client.post("/api/v1/tax-rates/", VAT, format="json")
    assert response.status_code == 201
    body = response.json()
    body.pop("created_at")
    assert body == {
        "id": TaxRate.objects.get().pk,
        "code": "VAT20",
        "name": "VAT",
        "rate_percent": "20",
        "country": "FR",
        "inclusive": False,
        "is_default": False,
    }
    listed = api_client.get("/api/v1/tax-rates/").json()
    assert [rate["code"] for rate in listed["results"]] == ["VAT20"]


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"rate_percent": "100.5"},
         {"rate_percent": ["Ensure this value is less than or equal to 100."]}),
        ({"rate_percent": "-1"},
         {"rate_percent": ["Ensure this value is greater than or equal to 0."]}),
        ({"rate_percent": "19.12345"},
         {"rate_percent": [
             "Ensure that there are no more than 4 decimal places."]}),
        ({"country": "fr"},
         {"country": ["Use a two-letter ISO 3166-1 country code."]}),
        ({"code": "VAT 20"},
         {"code": ["Use letters, digits, '_', '.' and '-', starting with a letter "
                   "or digit."]}),
    ],
)  # fmt: skip
def test_bad_tax_rates_are_400s_naming_the_field(api_client, change, errors):
    response = api_client.post("/api/v1/tax-rates/", {**VAT, **change}, format="json")
    assert _errors(response) == errors
    assert not TaxRate.objects.exists()


def test_a_tax_rate_code_is_unique_in_the_organization(
    api_client, organization, other_organization
):
    TaxRateFactory(organization=other_organization, code="VAT20")
    assert api_client.post("/api/v1/tax-rates/", VAT, format="json").status_code == 201
    response = api_client.post("/api/v1/tax-rates/", VAT, format="json")
    assert _errors(response) == {"code": ["A tax rate with code 'VAT20' exists."]}


def test_tax_profile_of_a_customer(api_client, organization):
    TaxRateFactory(organization=organization, code="VAT20")
    CustomerFactory(organization=organization, external_id="acme")
    url = "/api/v1/customers/acme/tax-profile/"
    assert api_client.get(url).json() == {
        "customer_id": "acme",
        "country": "",
        "tax_id": "",
        "tax_exempt": False,
        "tax_rate_codes": [],
        "payment_terms_days": None,
    }
    profile = {
        "country": "FR",
        "tax_id": "FR123",
        "tax_exempt": False,
        "tax_rate_codes": ["VAT20"],
        "payment_terms_days": 45,
    }
    response = api_client.put(url, profile, format="json")
    assert response.status_code == 200
    assert response.json() == {"customer_id": "acme", **profile}
    bad = api_client.put(
        url, {**profile, "tax_rate_codes": ["VAT20", "GST"]}, format="json"
    )
    assert _errors(bad) == {"tax_rate_codes": ["Unknown tax rate 'GST'."]}
    assert _errors(api_client.put(url, {"country": "France"}, format="json")) == {
        "country": [
            "Use a two-letter ISO 3166-1 country code.",
            "Ensure this field has no more than 2 characters.",
        ]
    }
    assert _errors(
        api_client.put(url, {**profile, "payment_terms_days": -1}, format="json")
    ) == {"payment_terms_days": ["Ensure this value is greater than or equal to 0."]}
    stored = CustomerTaxProfile.objects.get()
    assert (stored.tax_id, stored.payment_terms_days) == ("FR123", 45)


def test_create_a_coupon(api_client, organization):
    response = api_client.post("/api/v1/coupons/", COUPON, format="json")
    assert response.status_code == 201
    body = response.json()
    body.pop("created_at")
    assert body == {
        "id": Coupon.objects.get().pk,
        "code": "SPRING20",
        "name": "Spring",
        "percent_off": "20",
        "amount_off": None,
        "currency": "",
        "duration": "repeating",
        "duration_in_periods": 3,
        "max_redemptions": None,
        "times_redeemed": 0,
        "expires_at": None,
        "applies_to_operations": [],
    }


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"amount_off": "5.00", "currency": "USD"},
         {"percent_off": ["Give exactly one of percent_off and amount_off."]}),
        ({"percent_off": None},
         {"percent_off": ["Give exactly one of percent_off and amount_off."]}),
        ({"percent_off": "0"},
         {"percent_off": ["Must be more than 0 and at most 100."]}),
        ({"percent_off": "100.01"},
         {"percent_off": ["Must be more than 0 and at most 100."]}),
        ({"percent_off": None, "amount_off": "5.00"},
         {"currency": ["Required with amount_off."]}),
        ({"percent_off": None, "amount_off": "5.00", "currency": "EUR"},
         {"currency": ["Must be the organization's currency, USD."]}),
        ({"percent_off": None, "amount_off": "0", "currency": "USD"},
         {"amount_off": ["Must be more than 0."]}),
        ({"percent_off": "10", "currency": "USD"},
         {"currency": ["Only with amount_off."]}),
        ({"duration_in_periods": None},
         {"duration_in_periods": ["Required for a repeating coupon."]}),
        ({"duration": "once"},
         {"duration_in_periods": ["Only for a repeating coupon."]}),
        ({"duration": "weekly"},
         {"duration": ['"weekly" is not a valid choice.']}),
        ({"expires_at": "1999-12-31T00:00:00Z"},
         {"expires_at": ["Must be between the years 2000 and 2100."]}),
        ({"applies_to_operations": "image.resize"},
         {"applies_to_operations": ['Expected a list of items but got type "str".']}),
    ],
)  # fmt: skip
def test_bad_coupons_are_400s_naming_the_field(api_client, change, errors):
    response = api_client.post("/api/v1/coupons/", {**COUPON, **change}, format="json")
    assert _errors(response) == errors
    assert not Coupon.objects.exists()


def test_redeem_a_coupon_for_a_customer(api_client, organization):
    CouponFactory(organization=organization, code="SPRING20")
    CustomerFactory(organization=organization, external_id="acme")
    url = "/api/v1/customers/acme/coupons/"
    response = api_client.post(url, {"code": "SPRING20"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["code"], body["customer_id"], body["first_period_start"]) == (
        "SPRING20",
        "acme",
        "2026-10-01",
    )
    assert body["last_period_start"] == "2026-10-01"
    listed = api_client.get(url).json()
    assert [row["code"] for row in listed["results"]] == ["SPRING20"]
    assert _errors(api_client.post(url, {"code": "NOPE"}, format="json")) == {
        "code": ["Unknown coupon 'NOPE'."]
    }
    again = api_client.post(url, {"code": "SPRING20"}, format="json")
    assert again.status_code == 409
    assert again.json() == {
        "errors": {"code": ["Customer acme has already redeemed coupon SPRING20."]}
    }


def test_another_organizations_coupon_is_unknown(
    api_client, organization, other_organization
):
    CouponFactory(organization=other_organization, code="THEIRS")
    CustomerFactory(organization=organization, external_id="acme")
    response = api_client.post(
        "/api/v1/customers/acme/coupons/", {"code": "THEIRS"}, format="json"
    )
    assert _errors(response) == {"code": ["Unknown coupon 'THEIRS'."]}
    assert not CouponRedemption.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_redemptions_of_a_coupon_for_three(
    organization, api_client_for
):
    coupon = CouponFactory(organization=organization, code="ONLY3", max_redemptions=3)
    for number in range(8):
        CustomerFactory(organization=organization, external_id=f"c{number}")
    key = api_client_for(organization)._credentials["HTTP_AUTHORIZATION"]
    start = threading.Barrier(8)

    def post(number: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=key)
        try:
            start.wait(timeout=30)
            return client.post(
                f"/api/v1/customers/c{number}/coupons/",
                {"code": "ONLY3"},
                format="json",
            ).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(post, range(8)))

    assert statuses == [201] * 3 + [409] * 5
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 3
    assert CouponRedemption.objects.count() == 3


def test_invoice_json_carries_its_figures(api_client, organization):
    OperationPriceFactory(
        organization=organization, operation="image.resize", unit_price=Decimal("1")
    )
    TaxRateFactory(organization=organization, code="VAT20", is_default=True)
    customer = CustomerFactory(organization=organization, external_id="acme")
    services.coupon_redeem(
        coupon=CouponFactory(organization=organization, code="SPRING20"),
        customer=customer,
        now=datetime(2026, 10, 5, tzinfo=UTC),
    )
    ingest(customer, "image.resize", [100], when=datetime(2026, 10, 10, tzinfo=UTC))
    october = Period(MONTHLY, date(2026, 10, 1))
    services.invoices_generate(
        organization=organization, period=october, now=october.closes_at
    )
    body = api_client.get("/api/v1/invoices/").json()["results"][0]
    assert [body[name] for name in (
        "subtotal", "discount_total", "tax_total", "total", "amount_due"
    )] == ["100.00", "20.00", "16.00", "96.00", "96.00"]  # fmt: skip
    assert [(line["kind"], line["amount"]) for line in body["lines"]] == [
        ("overage", "100.00"),
        ("discount", "-20.00"),
        ("tax", "16.00"),
    ]
