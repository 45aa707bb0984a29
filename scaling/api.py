"""Scaling API: metric batches, forecasts per customer, recommendations and
decisions.

Money (costs, revenue at risk) is rendered as decimal strings; metric values and
forecast points are JSON numbers. A customer is ``customer_id`` (its external id);
``account_id``, the name this API used first, is still accepted in metric batches
and mirrored in responses, deprecated, as is ``/api/v1/accounts/{id}/forecasts/``.
"""

import math

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api_fields import BoundedDateTimeField, StrictFloatField
from billing_site.api_input import StrictLimitOffsetPagination, aliased_query_param
from billing_site.api_schema import customer_filter_parameters
from billing_site.errors import DomainError
from metering.selectors import customer_get, customer_named
from scaling import selectors
from scaling.models import (
    Forecast,
    Recommendation,
    ResourceMetric,
    code_validator,
)
from scaling.services import metrics, recommendations

MAX_BATCH = 10_000


ACCOUNT_ID_HELP = "Deprecated: the same as customer_id."


@extend_schema_serializer(deprecate_fields=["account_id"])
class MetricItemSerializer(serializers.Serializer):
    customer_id = serializers.CharField(
        max_length=128,
        required=False,
        help_text="The customer's external id; required unless the deprecated "
        "account_id is given.",
    )
    account_id = serializers.CharField(
        max_length=128, required=False, help_text=ACCOUNT_ID_HELP
    )
    resource = serializers.CharField(max_length=64, validators=[code_validator])
    timestamp = BoundedDateTimeField()
    value = StrictFloatField(min_value=0)

    def validate_value(self, value: float) -> float:
        if not math.isfinite(value):
            raise serializers.ValidationError("Must be a finite number.")
        return value

    def validate(self, attrs: dict) -> dict:
        alias = attrs.pop("account_id", None)
        if alias is None and "customer_id" not in attrs:
            raise serializers.ValidationError(
                {"customer_id": ["This field is required."]}
            )
        if alias is not None and attrs.setdefault("customer_id", alias) != alias:
            raise serializers.ValidationError(
                {"account_id": ["A deprecated alias of customer_id; give one of them."]}
            )
        return attrs


class MetricBatchInputSerializer(serializers.Serializer):
    metrics = MetricItemSerializer(many=True, allow_empty=False, max_length=MAX_BATCH)


class MetricBatchOutputSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    replaced = serializers.IntegerField(
        help_text="Derived points replaced by measured ones."
    )


def _flatten(errors, prefix: str = "") -> dict:
    """``{"metrics": [{}, {"value": [...]}]}`` -> ``{"metrics[1].value": [...]}``."""
    flat: dict = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, name))
    elif (
        isinstance(errors, list)
        and errors
        and all(isinstance(item, (dict, list)) for item in errors)
    ):
        for index, value in enumerate(errors):
            flat.update(_flatten(value, f"{prefix}[{index}]"))
    elif errors:
        flat[prefix or "non_field_errors"] = [str(error) for error in errors]
    return flat


class MetricBatchApi(APIView):
    """``POST /api/v1/metrics/batch/``: store measured points, idempotent per
    (customer, resource, timestamp); a point replaces a derived one (bandwidth from
    metering) of the same key. An invalid item rejects the batch with a 400 naming
    it."""

    permission_model = ResourceMetric
    # Room for MAX_BATCH points of about 200 bytes each.
    max_body_bytes = 4 * 1024 * 1024

    @extend_schema(
        request=MetricBatchInputSerializer,
        responses={
            201: OpenApiResponse(
                MetricBatchOutputSerializer, "Some points were stored."
            ),
            200: OpenApiResponse(
                MetricBatchOutputSerializer, "Every point was a duplicate."
            ),
        },
    )
    def post(self, request):
        data = MetricBatchInputSerializer(data=request.data)
        if not data.is_valid():
            raise serializers.ValidationError(_flatten(data.errors))
        points = [
            metrics.MetricPoint(**item) for item in data.validated_data["metrics"]
        ]
        result = metrics.metric_batch_ingest(
            organization=request.organization, points=points
        )
        return Response(
            {
                "received": result.received,
                "created": result.created,
                "duplicates": result.duplicates,
                "replaced": result.replaced,
            },
            status=status.HTTP_201_CREATED
            if result.created or result.replaced
            else status.HTTP_200_OK,
        )


class ForecastBacktestSerializer(serializers.Serializer):
    """Rolling-origin backtest of the chosen model and of the seasonal-naive
    baseline; null until there is history enough."""

    mase = serializers.FloatField(allow_null=True)
    smape = serializers.FloatField(allow_null=True, help_text="Percent, 0 to 200.")
    coverage_80 = serializers.FloatField(allow_null=True)
    coverage_95 = serializers.FloatField(allow_null=True)
    baseline_mase = serializers.FloatField(allow_null=True)
    baseline_smape = serializers.FloatField(allow_null=True)


class ForecastPointSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    yhat = serializers.FloatField()
    lower_80 = serializers.FloatField()
    upper_80 = serializers.FloatField()
    lower_95 = serializers.FloatField()
    upper_95 = serializers.FloatField()


@extend_schema_serializer(deprecate_fields=["account_id"])
class CustomerForecastOutputSerializer(serializers.Serializer):
    customer_id = serializers.CharField(help_text="The customer's external id.")
    account_id = serializers.CharField(help_text=ACCOUNT_ID_HELP)
    resource = serializers.CharField()
    state = serializers.ChoiceField(choices=Forecast.State.choices)
    message = serializers.CharField(allow_blank=True)
    model = serializers.CharField(allow_blank=True)
    generated_at = serializers.DateTimeField()
    horizon = serializers.IntegerField(help_text="Steps of the series.")
    step_seconds = serializers.IntegerField(allow_null=True)
    backtest = ForecastBacktestSerializer()
    points = ForecastPointSerializer(many=True)


FORECAST_RESOURCE = OpenApiParameter("resource", OpenApiTypes.STR, required=True)


class CustomerForecastApi(APIView):
    """``GET /api/v1/customers/{id}/forecasts/?resource=R``: the latest forecast.
    ``{id}`` is the customer's external id or its id."""

    permission_model = Forecast

    @extend_schema(
        parameters=[FORECAST_RESOURCE], responses=CustomerForecastOutputSerializer
    )
    def get(self, request, id: str):
        customer = customer_get(organization=request.organization, key=id)
        resource = request.query_params.get("resource", "").strip()
        if not resource:
            raise DomainError("This query parameter is required.", field="resource")
        forecast = selectors.forecast_latest(customer=customer, resource=resource)
        if forecast is None:
            raise DomainError(f"No forecast for {resource!r} yet.", field="resource")
        return Response(
            {
                "customer_id": customer.external_id,
                "account_id": customer.external_id,
                "resource": forecast.resource,
                "state": forecast.state,
                "message": forecast.message,
                "model": forecast.model,
                "generated_at": forecast.generated_at,
                "horizon": forecast.horizon,
                "step_seconds": forecast.step_seconds,
                "backtest": {
                    "mase": forecast.mase,
                    "smape": forecast.smape,
                    "coverage_80": forecast.coverage_80,
                    "coverage_95": forecast.coverage_95,
                    "baseline_mase": forecast.baseline_mase,
                    "baseline_smape": forecast.baseline_smape,
                },
                "points": forecast.points,
            }
        )


class AccountForecastApi(CustomerForecastApi):
    """``GET /api/v1/accounts/{id}/forecasts/``: the former path of the same."""

    @extend_schema(
        parameters=[FORECAST_RESOURCE],
        responses=CustomerForecastOutputSerializer,
        deprecated=True,
        description="Deprecated: use /api/v1/customers/{id}/forecasts/.",
    )
    def get(self, request, id: str):
        return super().get(request, id)


@extend_schema_serializer(deprecate_fields=["account_id"])
class RecommendationOutputSerializer(serializers.ModelSerializer):
    customer_id = serializers.CharField(
        source="customer.external_id", help_text="The customer's external id."
    )
    account_id = serializers.CharField(
        source="customer.external_id", help_text=ACCOUNT_ID_HELP
    )
    current_bundle = serializers.CharField(
        source="current_bundle.name", default=None, allow_null=True
    )
    recommended_bundle = serializers.CharField(source="recommended_bundle.name")
    forecast_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Recommendation
        fields = [
            "id", "customer_id", "account_id", "current_bundle", "recommended_bundle",
            "forecast_id", "direction", "status", "confidence", "predicted_peaks",
            "horizon_days", "currency", "upgrade_cost", "revenue_at_risk_current",
            "revenue_at_risk_recommended", "net_benefit", "reason", "decided_at",
            "decided_by", "applied_at", "created_at",
        ]  # fmt: skip


class RecommendationListApi(APIView):
    """``GET /api/v1/recommendations/?status=pending&customer_id=<id>``
    (``account`` is the deprecated alias of ``customer_id``)."""

    permission_model = Recommendation
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=Recommendation.Status.values
            ),
            *customer_filter_parameters("account"),
        ],
        responses=RecommendationOutputSerializer(many=True),
    )
    def get(self, request):
        rows = selectors.recommendation_list(organization=request.organization)
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in Recommendation.Status.values:
                raise DomainError(
                    f"Unknown status {wanted!r}; use one of "
                    f"{', '.join(Recommendation.Status.values)}.",
                    field="status",
                )
            rows = rows.filter(status=wanted)
        if named := aliased_query_param(request.query_params, "customer_id", "account"):
            field, key = named
            customer = customer_named(
                organization=request.organization, key=key, field=field
            )
            rows = rows.filter(customer=customer)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(
            RecommendationOutputSerializer(page, many=True).data
        )


class RecommendationDecisionApi(APIView):
    """``POST /api/v1/recommendations/{id}/approve/`` and ``/reject/``."""

    permission_model = Recommendation
    action_permissions = {"POST": "scaling.decide_recommendation"}

    decision = "approve"

    @extend_schema(request=None, responses=RecommendationOutputSerializer)
    def post(self, request, id: str):
        recommendation = selectors.recommendation_get(
            organization=request.organization, pk=id
        )
        service = (
            recommendations.recommendation_approve
            if self.decision == "approve"
            else recommendations.recommendation_reject
        )
        service(
            recommendation=recommendation,
            decided_by=str(request.user),
            now=timezone.now(),
        )
        recommendation.refresh_from_db()
        return Response(RecommendationOutputSerializer(recommendation).data)
