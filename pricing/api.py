"""Billing models API: ``/api/v1/billing-models/`` and ``.../{id}/calculate-cost/``.

Writes accept the seed's flattened shape (``activity_price_per_unit``,
``activity_volume_tier_1_threshold``, ...) or the nested one (``activity`` with a
``tiers`` list, or ``activities`` for hybrids); reads return both. Decimals are
accepted as JSON numbers (parsed exactly, never through float) or strings, and
rendered as decimal strings.
"""

from decimal import Decimal

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from billing_site.api_errors import django_validation_error_dict
from billing_site.errors import DomainError
from pricing import engine, selectors, services, shapes
from pricing.models import ActivityBasedConfig, BillingModel

MONEY_FORMAT = (
    "Amounts are decimal strings rounded half-up to the currency's minor unit "
    '(e.g. "47.50"), never JSON numbers, so no precision is lost; unit prices and '
    "thresholds are exact decimal strings. Requests may send decimals as JSON "
    "numbers or strings."
)


class DecimalJSONParser(parsers.JSONParser):
    """JSON whose non-integer numbers become ``Decimal`` (0.0015 stays exact)."""

    def parse(self, stream, media_type=None, parser_context=None):
        import json

        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return json.loads(stream.read().decode(encoding), parse_float=Decimal)
        except ValueError as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from error


class PlainDecimalField(serializers.DecimalField):
    """A decimal rendered exactly, without trailing zeros ("0.0008", "10000")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", None)
        kwargs.setdefault("decimal_places", None)
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        return f"{Decimal(value).normalize():f}"


# Input -----------------------------------------------------------------------


class TierInputSerializer(serializers.Serializer):
    up_to = serializers.DecimalField(
        max_digits=24, decimal_places=6, allow_null=True,
        help_text="Inclusive upper bound in units; null for the open-ended last tier.",
    )  # fmt: skip
    unit_price = serializers.DecimalField(max_digits=18, decimal_places=8)
    flat_fee = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, default=Decimal("0")
    )


class ActivityInputSerializer(serializers.Serializer):
    price_per_unit = serializers.DecimalField(max_digits=18, decimal_places=8)
    activity_type = serializers.CharField(max_length=64)
    unit_type = serializers.ChoiceField(
        ActivityBasedConfig.UnitType.choices, required=False, default="action"
    )
    base_agent_fee = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, default=Decimal("0")
    )
    volume_pricing_enabled = serializers.BooleanField(required=False, default=None)
    tier_mode = serializers.ChoiceField(
        ActivityBasedConfig.TierMode.choices, required=False, default="graduated"
    )
    tiers = TierInputSerializer(many=True, required=False, default=list)
    minimum_charge = serializers.DecimalField(
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
    subscription_fee = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, default=Decimal("0")
    )
    organization_id = serializers.IntegerField(
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


# Output ----------------------------------------------------------------------


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


def _current_input(model: BillingModel) -> dict:
    data = billing_model_data(model)
    current = {
        key: data[key]
        for key in ("name", "description", "model_type", "is_active")
        if key in data
    }
    current["subscription_fee"] = data["subscription_fee"]
    if model.model_type == "hybrid":
        current["activities"] = data["activities"]
    elif data["activity"] is not None:
        current["activity"] = data["activity"]
    return current


class UnitsField(serializers.Field):
    """A quantity, or an object of quantities by activity type (hybrid models)."""

    default_error_messages = {
        "invalid": "Give a number of units, or an object of units by activity type."
    }

    @staticmethod
    def _quantity(value) -> Decimal:
        if isinstance(value, (bool, dict, list)) or value is None:
            raise exceptions.ValidationError(["A valid number is required."])
        parser = serializers.DecimalField(
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
    agents = serializers.IntegerField(
        min_value=0,
        max_value=1_000_000,
        required=False,
        default=0,
        help_text="Agents billed the base agent fee (default 0).",
    )


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


class BillingModelFilter(django_filters.FilterSet):
    model_type = django_filters.ChoiceFilter(choices=BillingModel.ModelType.choices)
    activity_type = django_filters.CharFilter(
        field_name="activity_configs__activity_type", distinct=True
    )
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = BillingModel
        fields = ["model_type", "activity_type", "is_active"]


@extend_schema(description=MONEY_FORMAT)
class BillingModelViewSet(viewsets.ModelViewSet):
    """Billing models of the organization, and their cost calculator."""

    serializer_class = BillingModelOutputSerializer
    filterset_class = BillingModelFilter
    parser_classes = [DecimalJSONParser, parsers.FormParser, parsers.MultiPartParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return BillingModel.objects.none()
        return selectors.billing_model_list(organization=self.request.organization)

    def get_object(self) -> BillingModel:
        return selectors.billing_model_get(
            organization=self.request.organization, pk=self.kwargs["pk"]
        )

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else queryset
        data = BillingModelOutputSerializer(
            [billing_model_data(model) for model in rows], many=True
        ).data
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)

    def retrieve(self, request, *args, **kwargs):
        return Response(self._render(self.get_object()))

    def _render(self, model: BillingModel) -> dict:
        fresh = selectors.billing_model_get(
            organization=self.request.organization, pk=model.pk
        )
        return BillingModelOutputSerializer(billing_model_data(fresh)).data

    def _validated_spec(
        self, payload, current: dict | None
    ) -> tuple[services.BillingModelSpec, bool]:
        nested, flat = _nested_input(payload, current)
        organization_id = nested.get("organization_id")
        serializer = BillingModelInputSerializer(data=nested)
        if not serializer.is_valid():
            raise exceptions.ValidationError(
                _errors_in_request_shape(shapes.flatten_errors(serializer.errors), flat)
            )
        if (
            organization_id is not None
            and serializer.validated_data.get("organization_id")
            != self.request.organization.pk
        ):
            raise DomainError(
                "Does not match the organization of the API key.",
                field="organization_id",
            )
        return _spec(serializer.validated_data), flat

    def _write(self, write, flat: bool) -> BillingModel:
        try:
            return write()
        except DjangoValidationError as error:
            raise exceptions.ValidationError(
                _errors_in_request_shape(django_validation_error_dict(error), flat)
            ) from error

    @extend_schema(
        request=BillingModelInputSerializer,
        responses={201: BillingModelOutputSerializer},
        description="Create a billing model from the nested or the flattened shape. "
        + MONEY_FORMAT,
    )
    def create(self, request, *args, **kwargs):
        spec, flat = self._validated_spec(request.data, None)
        model = self._write(
            lambda: services.billing_model_create(
                organization=request.organization, spec=spec
            ),
            flat,
        )
        return Response(self._render(model), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=BillingModelInputSerializer,
        responses={200: BillingModelOutputSerializer},
    )
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        model = self.get_object()
        current = _current_input(model) if partial else None
        spec, flat = self._validated_spec(request.data, current)
        model = self._write(
            lambda: services.billing_model_update(billing_model=model, spec=spec),
            flat,
        )
        return Response(self._render(model))

    @extend_schema(
        request=BillingModelInputSerializer,
        responses={200: BillingModelOutputSerializer},
    )
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.billing_model_delete(billing_model=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=CostCalculateInputSerializer,
        responses={200: CostOutputSerializer},
        description="What the model charges for `units` and `agents`, with an "
        "itemised breakdown whose items add up to the total. " + MONEY_FORMAT,
    )
    @action(detail=True, methods=["post"], url_path="calculate-cost")
    def calculate_cost(self, request, pk=None):
        model = self.get_object()
        serializer = CostCalculateInputSerializer(data=request.data)
        if not serializer.is_valid():
            raise exceptions.ValidationError(shapes.flatten_errors(serializer.errors))
        result = engine.calculate_model_cost(
            selectors.billing_model_pricing(model),
            serializer.validated_data["units"],
            serializer.validated_data["agents"],
        )
        return Response(CostOutputSerializer(cost_data(result)).data)
