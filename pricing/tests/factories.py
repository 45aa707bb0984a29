from decimal import Decimal

import factory

from metering.tests.factories import OrganizationFactory
from pricing.models import ActivityBasedConfig, BillingModel, PriceTier


class BillingModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingModel

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Billing model {n}")
    model_type = BillingModel.ModelType.ACTIVITY


class ActivityBasedConfigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActivityBasedConfig

    billing_model = factory.SubFactory(BillingModelFactory)
    activity_type = "api_calls"
    unit_type = ActivityBasedConfig.UnitType.ACTION
    price_per_unit = Decimal("0.10")

    class Params:
        # The seed's advanced token model (tiers added by the test or the trait).
        seed_tokens = factory.Trait(
            activity_type="tokens",
            unit_type=ActivityBasedConfig.UnitType.TOKEN,
            price_per_unit=Decimal("0.001"),
            base_agent_fee=Decimal("10.00"),
            volume_pricing_enabled=True,
            minimum_charge=Decimal("5.00"),
        )


class PriceTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceTier

    config = factory.SubFactory(ActivityBasedConfigFactory, volume_pricing_enabled=True)
    position = factory.Sequence(lambda n: n + 1)
    up_to = Decimal("1000")
    unit_price = Decimal("0.01")
