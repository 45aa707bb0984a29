from decimal import Decimal

import factory

from bundles.models import (
    BundleTemplate,
    BundleTemplateOperation,
    OperationPrice,
    PersonalizedBundle,
    PersonalizedBundleLine,
)
from metering.tests.factories import CustomerFactory, OrganizationFactory


class OperationPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OperationPrice

    organization = factory.SubFactory(OrganizationFactory)
    operation = factory.Sequence(lambda n: f"op.{n}")
    unit_price = Decimal("0.01")


class BundleTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BundleTemplate

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Template {n}")
    discount_percent = Decimal("20")
    validity = BundleTemplate._meta.get_field("validity").default


class BundleTemplateOperationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BundleTemplateOperation

    template = factory.SubFactory(BundleTemplateFactory)
    operation = factory.Sequence(lambda n: f"op.{n}")
    included_quantity = Decimal("100")


class PersonalizedBundleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonalizedBundle

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    period_key = factory.Sequence(lambda n: f"month:2026-{n % 12 + 1:02d}-{n}")
    validity = "month"
    currency = "USD"
    list_value = Decimal("30.00")
    discount = Decimal("6.00")
    upsell = Decimal("1.20")
    price = Decimal("25.20")
    predicted_cost = Decimal("28.00")
    expected_saving = Decimal("2.80")
    reasons = factory.LazyFunction(dict)

    class Params:
        status_active = factory.Trait(status="active")


class PersonalizedBundleLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonalizedBundleLine

    bundle = factory.SubFactory(PersonalizedBundleFactory)
    operation = "image.resize"
    included_quantity = Decimal("1000")
    unit_price = Decimal("0.02")
    predicted_quantity = Decimal("900")
