"""Billing models API output: the read serializers of billing models and costs,
and the plain values they render (``billing_model_data``, ``cost_data``).
"""

from decimal import Decimal

from rest_framework import serializers

from billing_site.api_fields import PlainDecimalField
from pricing import engine, selectors, shapes
from pricing.models import ActivityBasedConfig, BillingModel


class TierOutputSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    up_to = PlainDecimalField(allow_null=True)
    unit_price = PlainDecimalField()
    flat_fee = serializers.DecimalField(max_digits=18, decimal_places=2)


class ActivityOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    activity_type = serializers.CharField()
    unit_type = serializers.CharField()
    price_per_unit = PlainDecimalField()
    base_agent_fee = serializers.DecimalField(max_digits=18, decimal_places=2)
    volume_pricing_enabled = serializers.BooleanField()
    tier_mode = serializers.CharField()
    tiers = TierOutputSerializer(many=True)
    minimum_charge = serializers.DecimalField(max_digits=18, decimal_places=2)
    billing_frequency = serializers.CharField()
    is_active = serializers.BooleanField()
    tier_summary = serializers.CharField(
        help_text="Compact tiers, e.g. '0-10k @0.0008 | 10k-50k @0.0006 | 50k+ @0.001'."
    )


class BillingModelOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    organization_id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    model_type = serializers.CharField()
    is_active = serializers.BooleanField()
    currency = serializers.CharField()
    subscription_fee = serializers.DecimalField(max_digits=18, decimal_places=2)
    activity = ActivityOutputSerializer(
        allow_null=True, help_text="The activity pricing of a single-activity model."
    )
    activities = ActivityOutputSerializer(many=True)
    activity_price_per_unit = PlainDecimalField(allow_null=True)
    activity_activity_type = serializers.CharField(allow_null=True)
    activity_unit_type = serializers.CharField(allow_null=True)
    activity_base_agent_fee = serializers.DecimalField(
        max_digits=18, decimal_places=2, allow_null=True
    )
    activity_volume_pricing_enabled = serializers.BooleanField(allow_null=True)
    activity_volume_tier_1_threshold = PlainDecimalField(allow_null=True)
    activity_volume_tier_1_price = PlainDecimalField(allow_null=True)
    activity_volume_tier_2_threshold = PlainDecimalField(allow_null=True)
    activity_volume_tier_2_price = PlainDecimalField(allow_null=True)
    activity_volume_tier_3_threshold = PlainDecimalField(allow_null=True)
    activity_volume_tier_3_price = PlainDecimalField(allow_null=True)
    activity_minimum_charge = serializers.DecimalField(
        max_digits=18, decimal_places=2, allow_null=True
    )
    activity_billing_frequency = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _activity_data(config: ActivityBasedConfig, currency: str) -> dict:
    tiers = sorted(config.tiers.all(), key=lambda tier: tier.position)
    return {
        "id": config.pk,
        "activity_type": config.activity_type,
        "unit_type": config.unit_type,
        "price_per_unit": config.price_per_unit,
        "base_agent_fee": config.base_agent_fee,
        "volume_pricing_enabled": config.volume_pricing_enabled,
        "tier_mode": config.tier_mode,
        "tiers": [
            {
                "position": tier.position,
                "up_to": tier.up_to,
                "unit_price": tier.unit_price,
                "flat_fee": tier.flat_fee,
            }
            for tier in tiers
        ],
        "minimum_charge": config.minimum_charge,
        "billing_frequency": config.billing_frequency,
        "is_active": config.is_active,
        "tier_summary": engine.describe_tiers(
            selectors.activity_pricing(config, currency=currency)
        ),
    }


def billing_model_data(model: BillingModel) -> dict:
    """Everything a read returns, as plain values (rendered by the serializer)."""
    currency = model.organization.currency
    activities = [
        _activity_data(config, currency) for config in model.activity_configs.all()
    ]
    single = activities[0] if model.model_type != "hybrid" and activities else None
    return {
        "id": model.pk,
        "organization_id": model.organization_id,
        "name": model.name,
        "description": model.description,
        "model_type": model.model_type,
        "is_active": model.is_active,
        "currency": currency,
        "subscription_fee": model.subscription_fee,
        "activity": single,
        "activities": activities,
        **shapes.flat_view(single),
        "created_at": model.created_at,
        "updated_at": model.updated_at,
    }


class CostLineOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    amount = serializers.CharField()
    units = serializers.CharField(allow_null=True)
    unit_price = serializers.CharField(allow_null=True)
    flat_fee = serializers.CharField()


class CostOutputSerializer(serializers.Serializer):
    cost = serializers.CharField(help_text='The total, e.g. "47.50".')
    currency = serializers.CharField()
    minimum_charge_applied = serializers.BooleanField()
    breakdown = serializers.DictField(
        child=serializers.CharField(),
        help_text="Amount by line key (base_agent_fee, tier_N_cost, overflow_cost, "
        "usage_cost, minimum_charge_adjustment, subscription_fee; hybrid lines are "
        "prefixed 'activity_type.'), then total.",
    )
    lines = CostLineOutputSerializer(many=True)


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def cost_data(result: engine.CostResult) -> dict:
    return {
        "cost": f"{result.total:f}",
        "currency": result.currency,
        "minimum_charge_applied": result.minimum_charge_applied,
        "breakdown": {key: f"{amount:f}" for key, amount in result.breakdown.items()},
        "lines": [
            {
                "key": line.key,
                "amount": f"{line.amount:f}",
                "units": _plain(line.units),
                "unit_price": _plain(line.unit_price),
                "flat_fee": _plain(line.flat_fee),
            }
            for line in result.lines
        ],
    }
