import io
from decimal import Decimal

import pypdf
import pytest
from django.utils import timezone

from invoices import services
from invoices.models import Invoice, ProviderCharge, Subscription
from invoices.tests.conftest import AFTER_OCTOBER, OCTOBER, ingest
from invoices.tests.factories import ProviderChargeFactory, SubscriptionFactory
from metering.tests.factories import CustomerFactory
from pricing.tests.factories import ActivityBasedConfigFactory, BillingModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(organization, october):
    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    return Invoice.objects.get()


def test_invoice_json_shape(api_client, invoice):
    response = api_client.get(f"/api/v1/invoices/{invoice.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "id", "number", "customer_id", "customer_tax_id", "customer_country",
        "period_start", "period_end", "status",
        "currency", "subtotal", "discount_total", "tax_total", "total",
        "credits_applied", "amount_paid", "amount_credited", "amount_due", "lines",
    ]  # fmt: skip
    assert body["customer_id"] == "acme"
    assert (body["period_start"], body["period_end"]) == ("2026-10-01", "2026-10-31")
    assert (body["status"], body["number"]) == ("draft", "")
    assert [body[name] for name in (
        "subtotal", "discount_total", "tax_total", "total", "amount_due"
    )] == ["190.02", "0.00", "0.00", "190.02", "190.02"]  # fmt: skip
    assert [body[name] for name in (
        "credits_applied", "amount_paid", "amount_credited"
    )] == ["0.00", "0.00", "0.00"]  # fmt: skip
    assert body["lines"][3] == {
        "kind": "overage",
        "description": "image.resize: beyond bundle",
        "quantity": "500",
        "unit_price": "0.02",
        "amount": "10.00",
    }
    assert len(body["lines"]) == 13


def test_list_filters(api_client, invoice, organization):
    other = CustomerFactory(organization=organization, external_id="other")
    Invoice.objects.create(
        organization=organization, customer=other, frequency="monthly",
        period_start=OCTOBER.start.replace(month=9), period_end=OCTOBER.start,
        currency="USD",
    )  # fmt: skip

    def ids(query):
        response = api_client.get(f"/api/v1/invoices/?{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids("customer_id=acme") == [invoice.pk]
    assert ids(f"customer_id={invoice.customer_id}") == [invoice.pk]
    assert ids("period=2026-10") == [invoice.pk]
    assert ids("status=draft&period=2026-09&customer_id=acme") == []
    assert len(ids("status=draft")) == 2


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("period=2026-13", "period", "Use YYYY-MM or YYYY-MM-DD, not '2026-13'."),
        ("status=open", "status", '"open" is not a valid choice.'),
        ("customer_id=nobody", "customer_id", "Unknown customer 'nobody'."),
    ],
)
def test_bad_filters_are_400_naming_the_field(api_client, query, field, message):
    response = api_client.get(f"/api/v1/invoices/?{query}")
    assert response.status_code == 400
    assert response.json() == {"errors": {field: [message]}}


def test_other_organizations_invoices_are_404(
    invoice, other_organization, api_client_for
):
    client = api_client_for(other_organization)
    assert client.get(f"/api/v1/invoices/{invoice.pk}/").status_code == 404
    assert client.post(f"/api/v1/invoices/{invoice.pk}/finalize/").status_code == 404
    assert client.get("/api/v1/invoices/").json()["results"] == []


def test_finalize_then_edits_are_refused(api_client, invoice):
    response = api_client.post(f"/api/v1/invoices/{invoice.pk}/finalize/")
    assert response.status_code == 200
    assert response.json()["status"] == "finalized"
    assert response.json()["number"] == "INV-000001"

    again = api_client.post(f"/api/v1/invoices/{invoice.pk}/finalize/")
    assert again.status_code == 400
    assert again.json() == {
        "errors": {"status": ["invoice INV-000001 is finalized, cannot finalize"]}
    }
    for method in ("put", "patch", "delete"):
        response = getattr(api_client, method)(
            f"/api/v1/invoices/{invoice.pk}/", {"total": "1.00"}, format="json"
        )
        assert response.status_code == 405
    invoice.refresh_from_db()
    assert invoice.total == Decimal("190.02")


def test_pdf_renders_the_invoice(api_client, invoice):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    response = api_client.get(f"/api/v1/invoices/{invoice.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="INV-000001.pdf"' in response["Content-Disposition"]
    text = "\n".join(
        page.extract_text()
        for page in pypdf.PdfReader(io.BytesIO(response.content)).pages
    )
    assert "Invoice INV-000001" in text
    assert "Acme Ltd (acme)" in text
    assert "image.resize: beyond bundle" in text
    assert "Tokens — tier 2 (5,000–20,000 at 0.001)" in text
    assert "USD 190.02" in text


def test_csv_export(api_client, invoice):
    response = api_client.get(f"/api/v1/invoices/{invoice.pk}/csv/")
    assert response.status_code == 200
    rows = response.content.decode().splitlines()
    assert rows[0].startswith("invoice_id,number,customer_id,customer_name")
    assert len(rows) == 14
    assert rows[4].endswith(
        ",overage,image.resize: beyond bundle,500,0.02,10.00,190.02,190.02"
    )


def test_provider_charge_post(api_client, organization):
    CustomerFactory(organization=organization, external_id="acme")
    response = api_client.post(
        "/api/v1/provider-charges/",
        {"customer_id": "acme", "provider": "Twilio", "period": "2026-10",
         "amount": "12.34", "description": "SMS"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["period"] == "2026-10"
    charge = ProviderCharge.objects.get()
    assert (charge.amount, charge.customer.external_id) == (Decimal("12.34"), "acme")


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"customer_id": "nobody"}, "customer_id", "Unknown customer 'nobody'."),
        ({"period": "2026-10-03"}, "period", "Use YYYY-MM."),
        ({"amount": "abc"}, "amount", "A valid number is required."),
    ],
)
def test_provider_charge_bad_input(api_client, organization, payload, field, message):
    CustomerFactory(organization=organization, external_id="acme")
    data = {"customer_id": "acme", "provider": "Twilio", "period": "2026-10"}
    data["amount"] = "1.00"
    data.update(payload)
    response = api_client.post("/api/v1/provider-charges/", data, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {field: [message]}}


@pytest.mark.parametrize("collection", ["provider-charges", "subscriptions"])
def test_lists_filter_by_customer_id(api_client, organization, collection):
    acme = CustomerFactory(organization=organization, external_id="acme")
    other = CustomerFactory(organization=organization, external_id="other")
    for customer in (acme, other):
        ProviderChargeFactory(customer=customer)
        SubscriptionFactory(customer=customer)

    def customers(query=""):
        response = api_client.get(f"/api/v1/{collection}/?{query}")
        assert response.status_code == 200, response.json()
        return sorted(row["customer_id"] for row in response.json()["results"])

    assert customers() == ["acme", "other"]
    assert customers("customer_id=acme") == ["acme"]
    assert customers(f"customer_id={other.pk}") == ["other"]
    unknown = api_client.get(f"/api/v1/{collection}/?customer_id=nobody")
    assert unknown.status_code == 400
    assert unknown.json() == {"errors": {"customer_id": ["Unknown customer 'nobody'."]}}


def test_subscription_post(api_client, organization, hybrid_model):
    CustomerFactory(organization=organization, external_id="acme")
    response = api_client.post(
        "/api/v1/subscriptions/",
        {"customer_id": "acme", "billing_model_id": hybrid_model.pk, "agents": 3,
         "starts_at": "2026-10-01T00:00:00Z"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["customer_id"] == "acme"
    assert Subscription.objects.get().agents == 3


def test_subscription_with_another_organizations_model_is_400(
    api_client, organization, other_organization
):
    CustomerFactory(organization=organization, external_id="acme")
    foreign = BillingModelFactory(organization=other_organization)
    response = api_client.post(
        "/api/v1/subscriptions/",
        {"customer_id": "acme", "billing_model_id": foreign.pk, "agents": 1,
         "starts_at": "2026-10-01T00:00:00Z"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"billing_model_id": ["Unknown billing model."]}
    }


def test_current_usage_cost(api_client, organization):
    model = BillingModelFactory(organization=organization)
    ActivityBasedConfigFactory(
        billing_model=model, activity_type="api_calls", price_per_unit=Decimal("0.10")
    )
    customer = CustomerFactory(organization=organization, external_id="live")
    SubscriptionFactory(customer=customer, billing_model=model)
    now = timezone.now()
    ingest(customer, "api_calls", [3, 4], when=now, now=now)

    response = api_client.get("/api/v1/customers/live/current-usage-cost/")

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == "0.70"
    assert body["monthly"]["lines"] == [
        {"kind": "usage", "description": "Api calls — usage (at 0.1)", "quantity": "7",
         "unit_price": "0.1", "amount": "0.70"},
    ]  # fmt: skip
    assert (
        api_client.get(f"/api/v1/customers/{customer.pk}/current-usage-cost/").json()[
            "total"
        ]
        == "0.70"
    )
    assert (
        api_client.get("/api/v1/customers/nobody/current-usage-cost/").status_code
        == 404
    )


def test_customer_with_invoices_cannot_be_deleted_through_the_api(api_client, invoice):
    response = api_client.delete("/api/v1/customers/acme/")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "customer": ["Customer acme has 1 invoice(s) and cannot be deleted."]
        }
    }


def test_routes_answer_without_trailing_slash(api_client, invoice):
    assert api_client.get("/api/v1/invoices").status_code == 200
    assert api_client.get(f"/api/v1/invoices/{invoice.pk}").status_code == 200
    assert (
        api_client.get("/api/v1/customers/acme/current-usage-cost").status_code == 200
    )
