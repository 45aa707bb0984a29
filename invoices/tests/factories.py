from datetime import UTC, date, datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import Permission

from invoices.models import (
    Coupon,
    Invoice,
    InvoicingSettings,
    ProviderCharge,
    Subscription,
    TaxRate,
)
from metering.models import Organization, OrganizationMembership
from metering.tests.factories import CustomerFactory, OrganizationFactory, UserFactory
from pricing.tests.factories import BillingModelFactory


class InvoicingSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoicingSettings
        django_get_or_create = ("organization",)

    grace_hours = 24
    provider_markup_percent = Decimal("0")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    billing_model = factory.SubFactory(
        BillingModelFactory, organization=factory.SelfAttribute("..organization")
    )
    agents = 0
    starts_at = datetime(2026, 1, 1, tzinfo=UTC)


class ProviderChargeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderCharge

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    provider = "Twilio"
    period_start = date(2026, 10, 1)
    amount = Decimal("12.34")
    description = "SMS delivery"


class InvoiceFactory(factory.django.DjangoModelFactory):
    """A monthly draft of October 2026 without lines; the ``finalized``, ``paid``
    and ``void`` traits give it a number (and settle what a paid or void invoice
    no longer asks for)."""

    class Meta:
        model = Invoice

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    frequency = "monthly"
    period_start = date(2026, 10, 1)
    period_end = date(2026, 10, 31)
    currency = "USD"
    customer_name = factory.SelfAttribute("customer.name")
    customer_external_id = factory.SelfAttribute("customer.external_id")
    subtotal = factory.SelfAttribute("total")
    total = Decimal("100.00")
    amount_due = factory.SelfAttribute("total")

    class Params:
        finalized = factory.Trait(
            status="finalized", number=factory.Sequence(lambda n: f"INV-9{n:05d}")
        )
        paid = factory.Trait(
            status="paid",
            number=factory.Sequence(lambda n: f"INV-8{n:05d}"),
            amount_paid=factory.SelfAttribute("total"),
            amount_due=Decimal("0"),
        )
        void = factory.Trait(
            status="void",
            number=factory.Sequence(lambda n: f"INV-7{n:05d}"),
            amount_credited=factory.SelfAttribute("total"),
            amount_due=Decimal("0"),
        )


def staff_member(organization: Organization, *codenames: str):
    """An active staff user, member of ``organization``, holding the permissions
    named by ``codenames`` (``"view_invoice"``)."""
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    OrganizationMembership.objects.create(user=user, organization=organization)
    return user


class TaxRateFactory(factory.django.DjangoModelFactory):
    """VAT at 20 %, exclusive."""

    class Meta:
        model = TaxRate

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"VAT{n}")
    name = "VAT"
    rate_percent = Decimal("20")


class CouponFactory(factory.django.DjangoModelFactory):
    """20 % off, once."""

    class Meta:
        model = Coupon

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"SAVE{n}")
    name = "Spring offer"
    percent_off = Decimal("20")
    duration = Coupon.Duration.ONCE
