from datetime import UTC, date, datetime
from decimal import Decimal

import factory

from invoices.models import InvoicingSettings, ProviderCharge, Subscription
from metering.tests.factories import CustomerFactory
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
