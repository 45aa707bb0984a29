from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from pricing import services
from pricing.models import PriceTier
from pricing.services import ActivitySpec, BillingModelSpec, TierSpec
from pricing.tests.factories import PriceTierFactory

pytestmark = pytest.mark.django_db

D = Decimal


def test_update_replaces_tiers_in_order(seed_token_model):
    spec = BillingModelSpec(
        name="Advanced Token Billing",
        activities=(
            ActivitySpec(
                activity_type="tokens",
                price_per_unit=D("0.001"),
                volume_pricing_enabled=True,
                tiers=(TierSpec(D(20000), D("0.0007")), TierSpec(None, D("0.0005"))),
            ),
        ),
    )
    services.billing_model_update(billing_model=seed_token_model, spec=spec)
    config = seed_token_model.activity_configs.get()
    assert [
        (t.position, t.up_to, t.unit_price) for t in config.tiers.order_by("position")
    ] == [(1, D(20000), D("0.0007")), (2, None, D("0.0005"))]


def test_update_keeps_activity_ids_and_drops_missing_types(organization):
    model = services.billing_model_create(
        organization=organization,
        spec=BillingModelSpec(
            name="Hybrid",
            model_type="hybrid",
            activities=(
                ActivitySpec("api_calls", D("0.1")),
                ActivitySpec("tokens", D("0.001")),
            ),
        ),
    )
    kept = model.activity_configs.get(activity_type="api_calls")
    services.billing_model_update(
        billing_model=model,
        spec=BillingModelSpec(
            name="Hybrid",
            model_type="hybrid",
            activities=(ActivitySpec("api_calls", D("0.2")),),
        ),
    )
    (config,) = model.activity_configs.all()
    assert (config.pk, config.price_per_unit, config.created_at) == (
        kept.pk, D("0.2"), kept.created_at,
    )  # fmt: skip


def test_subscription_fee_only_on_subscription_and_hybrid(organization):
    with pytest.raises(ValidationError) as error:
        services.billing_model_create(
            organization=organization,
            spec=BillingModelSpec(
                name="Wrong",
                subscription_fee=D("10"),
                activities=(ActivitySpec("api_calls", D("0.1")),),
            ),
        )
    assert error.value.message_dict == {
        "subscription_fee": [
            "Only subscription and hybrid models carry a subscription fee."
        ]
    }


def test_activity_type_must_be_a_code(organization):
    with pytest.raises(ValidationError) as error:
        services.billing_model_create(
            organization=organization,
            spec=BillingModelSpec(
                name="Bad code", activities=(ActivitySpec("API Calls", D("0.1")),)
            ),
        )
    assert error.value.message_dict == {
        "activity.activity_type": [
            "Use lower-case letters, digits and _ . - (for example 'tokens')."
        ]
    }


def test_tiers_replace_renumbers_and_validates(seed_token_model):
    config = seed_token_model.activity_configs.get()
    services.activity_tiers_replace(
        config=config,
        tiers=[TierSpec(D(100), D("0.01")), TierSpec(D(200), D("0.005"))],
    )
    assert list(config.tiers.values_list("position", "up_to")) == [
        (1, D(100)),
        (2, D(200)),
    ]
    with pytest.raises(ValidationError) as error:
        services.activity_tiers_replace(
            config=config,
            tiers=[TierSpec(D(200), D("0.01")), TierSpec(D(100), D("0.005"))],
        )
    assert error.value.message_dict == {
        "tiers.1.up_to": ["Must be greater than the previous tier's threshold (200)."]
    }


def test_database_refuses_negative_tier_prices():
    with pytest.raises(IntegrityError):
        PriceTierFactory(unit_price=D("-1"))


def test_database_refuses_a_non_positive_threshold():
    tier = PriceTierFactory()
    with pytest.raises(IntegrityError):
        PriceTier.objects.filter(pk=tier.pk).update(up_to=D(0))
