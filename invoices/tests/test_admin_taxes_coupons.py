"""Admin screens of taxes and coupons: their lists, a coupon's terms checked by
field, and applying a coupon to a customer through the redemption service."""

from datetime import date
from decimal import Decimal

import pytest

from invoices.models import Coupon, CouponRedemption
from invoices.tests.factories import CouponFactory, TaxRateFactory
from metering.tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-10-05T12:00:00+00:00")]


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(staff=True))
    return client


def test_the_lists_open(superuser_client, organization):
    TaxRateFactory(organization=organization, code="VAT20")
    CouponFactory(organization=organization, code="SPRING20")
    for model in ("taxrate", "coupon", "couponredemption", "customertaxprofile"):
        response = superuser_client.get(f"/admin/invoices/{model}/")
        assert response.status_code == 200, model
    CouponFactory(
        organization=organization,
        code="BIG",
        percent_off=None,
        amount_off=Decimal("1250.00"),
        currency="USD",
    )
    page = superuser_client.get("/admin/invoices/coupon/").content.decode()
    assert "SPRING20" in page
    assert "USD 1,250.00" in page and "1250.00" not in page and "20.0000" not in page


def test_a_coupons_fixed_terms_are_shown_formatted_and_cannot_be_changed(
    superuser_client, organization
):
    percent = CouponFactory(organization=organization, code="SPRING20")
    fixed = CouponFactory(
        organization=organization,
        code="BIG",
        percent_off=None,
        amount_off=Decimal("1250.00"),
        currency="USD",
    )

    def readonly(coupon) -> dict[str, str]:
        page = superuser_client.get(f"/admin/invoices/coupon/{coupon.pk}/change/")
        assert page.status_code == 200
        form = page.context["adminform"]
        assert not {"percent_off", "amount_off"} & set(form.form.fields)
        return {
            field.field["label"]: field.contents()
            for fieldset in form
            for line in fieldset
            for field in line
            if field.is_readonly
        }

    shown = readonly(percent)
    assert (shown["percent off"], shown["amount off"]) == ("20", "-")
    shown = readonly(fixed)
    assert (shown["percent off"], shown["amount off"]) == ("-", "USD 1,250.00")
    superuser_client.post(
        f"/admin/invoices/coupon/{percent.pk}/change/",
        {"name": "Renamed", "percent_off": "90"},
    )
    percent.refresh_from_db()
    assert (percent.name, percent.percent_off) == ("Renamed", Decimal("20"))


def test_a_coupon_with_both_discounts_is_refused_by_field(
    superuser_client, organization
):
    response = superuser_client.post(
        "/admin/invoices/coupon/add/",
        {
            "organization": organization.pk,
            "code": "BOTH",
            "name": "Both",
            "percent_off": "10",
            "amount_off": "5.00",
            "currency": "USD",
            "duration": "once",
            "applies_to_operations": "[]",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["percent_off"] == [
        "Give exactly one of percent_off and amount_off."
    ]
    assert not Coupon.objects.exists()


def test_applying_a_used_up_coupon_is_reported_and_saves_nothing(
    superuser_client, organization
):
    coupon = CouponFactory(organization=organization, code="ONE", max_redemptions=1)
    first, second = CustomerFactory.create_batch(2, organization=organization)
    add = "/admin/invoices/couponredemption/add/"
    response = superuser_client.post(
        add, {"coupon": coupon.pk, "customer": first.pk}, follow=True
    )
    assert CouponRedemption.objects.get().first_period_start == date(2026, 10, 1)
    response = superuser_client.post(
        add, {"coupon": coupon.pk, "customer": second.pk}, follow=True
    )
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"Coupon ONE was not applied to {second}: Coupon ONE has been redeemed "
        "1 time(s), its maximum."
    ]
    assert CouponRedemption.objects.count() == 1
