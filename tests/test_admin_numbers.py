"""Admin lists, read-only fields and decimal inputs write quantities, unit prices,
rates and scores unpadded, as the other screens do (``0.02``, never
``0.02000000``)."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from bundles.tests.factories import (
    BundleTemplateOperationFactory,
    OperationPriceFactory,
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from invoices.tests.factories import CouponFactory, TaxRateFactory
from metering.models import AlertTrigger
from metering.services import usage_alert_create
from metering.tests.factories import CustomerFactory, UsageEventFactory
from profiling.models import BehavioralTag, ProfilingRun, TagRule
from scaling.tests.factories import BundleCapacityFactory

pytestmark = pytest.mark.django_db

AT = datetime(2026, 6, 1, tzinfo=UTC)
# A decimal padded with zeros: 0.02000000, 1500.000000, 1.000.
PADDED = re.compile(r"\d\.\d*000(?!\d)")


def page(client, name: str, *args) -> str:
    response = client.get(reverse(f"admin:{name}", args=args))
    assert response.status_code == 200
    return response.content.decode()


def cell(column: str, text: str) -> str:
    return f'<td class="field-{column}_number">{text}</td>'


def test_lists_write_numbers_unpadded(admin_client, organization):
    customer = CustomerFactory(organization=organization)
    OperationPriceFactory(
        organization=organization, operation="pdf.export", unit_price=Decimal("0.02")
    )
    UsageEventFactory(customer=customer, quantity=Decimal("1500"))
    usage_alert_create(
        customer=customer, kind="usage", operation="pdf.export", threshold=Decimal(5)
    )
    run = ProfilingRun.objects.create(
        organization=organization,
        status="succeeded",
        window_start=AT - timedelta(days=30),
        window_end=AT,
    )
    BehavioralTag.objects.create(
        run=run, customer=customer, name="night owl", score=Decimal("0.5"),
        explanation="half of the events at night",
    )  # fmt: skip
    TaxRateFactory(organization=organization, rate_percent=Decimal("20"))
    CouponFactory(organization=organization, percent_off=Decimal("12.5"))

    expected = {
        "bundles_operationprice_changelist": cell("unit_price", "0.02"),
        "metering_usageevent_changelist": cell("quantity", "1,500"),
        "metering_usagealert_changelist": cell("threshold", "5"),
        "profiling_behavioraltag_changelist": cell("score", "0.5"),
        "invoices_taxrate_changelist": cell("rate_percent", "20"),
        "invoices_coupon_changelist": cell("percent_off", "12.5"),
    }
    for name, shown in expected.items():
        content = page(admin_client, name)
        assert shown in content, name
        assert not PADDED.search(content), (name, PADDED.search(content))


def test_read_only_pages_write_numbers_unpadded(admin_client, organization):
    customer = CustomerFactory(organization=organization)
    bundle = PersonalizedBundleFactory(
        customer=customer, valid_from=AT, valid_until=AT + timedelta(days=30)
    )
    PersonalizedBundleLineFactory(bundle=bundle, unit_price=Decimal("0.0015"))
    PersonalizedBundleLineFactory(
        bundle=bundle, operation="image.crop", included_quantity=None
    )
    alert = usage_alert_create(
        customer=customer, kind="spend", threshold=Decimal("250.00")
    )
    AlertTrigger.objects.create(
        alert=alert, period_start=AT, value=Decimal("251.5"), triggered_at=AT
    )

    content = page(admin_client, "bundles_personalizedbundle_change", bundle.pk)
    for text in ("1,000", "0.0015", "900", "unlimited"):
        assert f"<p>{text}</p>" in content
    content = page(admin_client, "metering_usagealert_change", alert.pk)
    assert '<div class="readonly">250</div>' in content
    assert "<p>251.5</p>" in content
    for name, pk in (
        ("bundles_personalizedbundle_change", bundle.pk),
        ("metering_usagealert_change", alert.pk),
    ):
        assert not PADDED.search(page(admin_client, name, pk)), name


def test_decimal_inputs_are_filled_unpadded(admin_client, organization):
    price = OperationPriceFactory(organization=organization, unit_price=Decimal("0.02"))
    line = BundleTemplateOperationFactory(
        template__organization=organization, included_quantity=Decimal("1500")
    )
    capacity = BundleCapacityFactory(
        bundle__organization=organization,
        capacity=Decimal("200"),
        unit_price=Decimal("0.35"),
    )
    TagRule.objects.create(
        organization=organization, name="busy", kind="unusual", threshold=Decimal(1)
    )
    tax = TaxRateFactory(organization=organization, rate_percent=Decimal("20"))

    pages = [
        (("bundles_operationprice_change", price.pk), ['value="0.02"']),
        (("bundles_bundletemplate_change", line.template.pk), ['value="1500"']),
        (
            ("scaling_featurebundle_change", capacity.bundle.pk),
            ['value="200"', 'value="0.35"'],
        ),
        (("profiling_tagrule_changelist",), ['value="1"']),
        (("invoices_taxrate_change", tax.pk), ['value="20"']),
    ]
    for (name, *args), inputs in pages:
        content = page(admin_client, name, *args)
        for value in inputs:
            assert value in content, (name, value)
        assert not PADDED.search(content), (name, PADDED.search(content))
