"""Billing models API input shapes: the write serializers (nested or flattened),
their translation into service specs, and the cost calculator's input.
"""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from billing_site.api_fields import StrictDecimalField, StrictIntegerField
from billing_site.errors import DomainError
from pricing import services, shapes
from pricing.models import ActivityBasedConfig, BillingModel


class TierInputSerializer(serializers.Serializer):
    up_to = StrictDecimalField(
        max_digits=24, decimal_places=6, allow_null=True,
        help_text="Inclusive upper bound in units; null for the open-ended last tier.",
    )  # fmt: skip
    unit_price = StrictDecimalField(max_digits=18, decimal_places=8)
    flat_fee = StrictDecimalField(
        max_digits=18, decimal_places=2, required=False, default=Decimal("0")
    )


class ActivityInputSerializer(serializers.Serializer):
    price_per_unit = StrictDecimalField(max_digits=18, decimal_places=8)
    activity_type = serializers.CharField(max_length=64)
    unit_type = serializers.ChoiceField(
        ActivityBasedConfig.UnitType.choices, required=False, default="action"
    )
    base_agent_fee = StrictDecimalField(
        max_digits=18, decimal_places=2, required=False, default=Decimal("0")
    )
    volume_pricing_enabled = serializers.BooleanField(required=False, default=None)
    tier_mode = serializers.ChoiceField(
        ActivityBasedConfig.TierMode.choices, required=False, default="graduated"
    )
    tiers = TierInputSerializer(many=True, required=False, default=list)
    minimum_charge = StrictDecimalField(
        max_digits=18, decimal_places=2, required=False, default=Decimal("0")
    )
    billing_frequency = serializers.ChoiceField(
        ActivityBasedConfig.BillingFrequency.choices,
        required=False,
        default="monthly",
    )
    is_active = serializers.BooleanField(required=False, default=True)


class BillingModelInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    model_type = serializers.ChoiceField(
        BillingModel.ModelType.choices, required=False, default="activity"
    )
    is_active = serializers.BooleanField(required=False, default=True)
    subscription_fee = StrictDecimalField(
        max_digits=18, decimal_places=2, required=False, default=Decimal("0")
    )
    organization_id = StrictIntegerField(
        required=False,
        help_text="Optional: the organization the API key implies.",
    )
    activity = ActivityInputSerializer(required=False, allow_null=True)
    activities = ActivityInputSerializer(many=True, required=False)


def _activity_spec(data: dict) -> services.ActivitySpec:
    volume = data["volume_pricing_enabled"]
    if volume is None:  # unspecified: tiers imply volume pricing
        volume = bool(data["tiers"])
    return services.ActivitySpec(
        activity_type=data["activity_type"],
        price_per_unit=data["price_per_unit"],
        unit_type=data["unit_type"],
        base_agent_fee=data["base_agent_fee"],
        volume_pricing_enabled=volume,
        tier_mode=data["tier_mode"],
        tiers=tuple(
            services.TierSpec(t["up_to"], t["unit_price"], t["flat_fee"])
            for t in data["tiers"]
        ),
        minimum_charge=data["minimum_charge"],
        billing_frequency=data["billing_frequency"],
        is_active=data["is_active"],
    )


def _spec(data: dict) -> services.BillingModelSpec:
    if data.get("activity") and data.get("activities"):
        raise DomainError(
            "Give either activity (one) or activities (several), not both.",
            field="activities",
        )
    activities = [data["activity"]] if data.get("activity") else data.get("activities")
    return services.BillingModelSpec(
        name=data["name"],
        model_type=data["model_type"],
        description=data["description"],
        is_active=data["is_active"],
        subscription_fee=data["subscription_fee"],
        activities=tuple(_activity_spec(a) for a in activities or []),
    )


def _nested_input(payload, current: dict | None) -> tuple[dict, bool]:
    """The request body in the nested shape (merged onto ``current`` for PATCH)."""
    if hasattr(payload, "dict"):  # form data: one value per key
        payload = payload.dict()
    if not isinstance(payload, dict):
        raise exceptions.ValidationError(
            {"non_field_errors": ["Expected a JSON object."]}
        )
    try:
        if shapes.is_flat(payload):
            return shapes.apply_flat(current or {}, payload), True
        nested = {**(current or {}), **payload}
        if isinstance(payload.get("activity"), dict):
            activity = shapes.rename_legacy(payload["activity"])
            if current and current.get("activity"):
                activity = {**current["activity"], **activity}
            nested["activity"] = activity
        if isinstance(payload.get("activities"), list):
            nested["activities"] = [
                shapes.rename_legacy(item, prefix=f"activities.{index}.")
                if isinstance(item, dict)
                else item
                for index, item in enumerate(payload["activities"])
            ]
        if "activity" in payload and "activities" not in payload:
            nested.pop("activities", None)
        if "activities" in payload and "activity" not in payload:
            nested.pop("activity", None)
        return nested, False
    except shapes.ShapeError as error:
        raise exceptions.ValidationError(error.errors) from error


def _errors_in_request_shape(errors: dict, flat: bool) -> dict:
    if not flat:
        return errors
    translated: dict[str, list[str]] = {}
    for key, messages in errors.items():
        translated.setdefault(shapes.flat_error_key(key), []).extend(messages)
    return translated


class UnitsField(serializers.Field):
    """A quantity, or an object of quantities by activity type (hybrid models)."""

    default_error_messages = {
        "invalid": "Give a number of units, or an object of units by activity type."
    }

    @staticmethod
    def _quantity(value) -> Decimal:
        if isinstance(value, (bool, dict, list)) or value is None:
            raise exceptions.ValidationError(["A valid number is required."])
        parser = StrictDecimalField(
            max_digits=30, decimal_places=6, min_value=Decimal(0)
        )
        return parser.run_validation(value)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            if not data:
                self.fail("invalid")
            units, errors = {}, {}
            for key, value in data.items():
                try:
                    units[str(key)] = self._quantity(value)
                except exceptions.ValidationError as error:
                    errors[str(key)] = error.detail
            if errors:
                raise exceptions.ValidationError(errors)
            return units
        if isinstance(data, list) or data is None:
            self.fail("invalid")
        return self._quantity(data)

    def to_representation(self, value):
        return value


extend_schema_field(
    {
        "oneOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "pattern": r"^\d+(\.\d{1,6})?$"},
            {
                "type": "object",
                "additionalProperties": {
                    "oneOf": [
                        {"type": "number", "minimum": 0},
                        {"type": "string", "pattern": r"^\d+(\.\d{1,6})?$"},
                    ]
                },
            },
        ]
    }
)(UnitsField)


class CostCalculateInputSerializer(serializers.Serializer):
    units = UnitsField(
        help_text="Units used (may be decimal); for a hybrid model, an object of "
        'units by activity type, e.g. {"tokens": 15000, "api_calls": 100}.'
    )
    agents = StrictIntegerField(
        min_value=0,
        max_value=1_000_000,
        required=False,
        default=0,
        help_text="Agents billed the base agent fee (default 0).",
    )
