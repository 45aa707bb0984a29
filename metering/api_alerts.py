"""Usage alerts API: a customer's alerts (``/customers/{id}/alerts/``), created,
listed with their state in the current period, and deleted.

The customer is named by its external id or its numeric id; one alert by its id
under its customer (``/customers/{customer_id}/alerts/{id}/``).
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api_fields import PlainDecimalField, StrictDecimalField
from billing_site.api_input import StrictLimitOffsetPagination
from metering import selectors, services
from metering.ingestion import OPERATION_RE, STRING_LIMITS
from metering.models import UsageAlert


def _operation(value: str) -> str:
    if value and not OPERATION_RE.fullmatch(value):
        raise serializers.ValidationError(
            "Use letters, digits and . _ : / - only, starting with a letter or digit."
        )
    return value


class UsageAlertInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=UsageAlert.Kind.choices)
    operation = serializers.CharField(
        max_length=STRING_LIMITS["operation"],
        required=False,
        default="",
        validators=[_operation],
        help_text="The operation code a usage alert watches; required for usage, "
        "not allowed for spend.",
    )
    threshold = StrictDecimalField(
        max_digits=19,
        decimal_places=6,
        help_text="Units of the operation (usage), or an amount in the "
        "organization's currency with at most 2 decimal places (spend).",
    )
    period = serializers.ChoiceField(
        choices=UsageAlert.Period.choices,
        default=UsageAlert.Period.BILLING_PERIOD,
        help_text="Default: the billing period (the calendar month, UTC).",
    )


class UsageAlertOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="alert.pk")
    customer_id = serializers.CharField(source="alert.customer.external_id")
    kind = serializers.CharField(source="alert.kind")
    operation = serializers.CharField(source="alert.operation", allow_null=True)
    threshold = PlainDecimalField(source="alert.threshold")
    period = serializers.CharField(source="alert.period")
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    triggered = serializers.SerializerMethodField()
    triggered_at = serializers.DateTimeField(allow_null=True)
    value = PlainDecimalField(
        allow_null=True,
        help_text="The period's figure when the alert fired; null until then.",
    )

    def get_triggered(self, state) -> bool:
        return state.triggered_at is not None

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["operation"] = data["operation"] or None
        return data


class CustomerAlertsApi(APIView):
    """``GET /api/v1/customers/{id}/alerts/``: the customer's alerts, each with
    whether it fired in its current period; ``POST`` creates one."""

    permission_model = UsageAlert
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(responses=UsageAlertOutputSerializer(many=True))
    def get(self, request, id: str):
        customer = selectors.customer_get(organization=request.organization, key=id)
        states = selectors.usage_alert_states(customer=customer, now=timezone.now())
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(states, request, view=self)
        return paginator.get_paginated_response(
            UsageAlertOutputSerializer(page, many=True).data
        )

    @extend_schema(
        request=UsageAlertInputSerializer,
        responses={201: UsageAlertOutputSerializer},
    )
    def post(self, request, id: str):
        customer = selectors.customer_get(organization=request.organization, key=id)
        data = UsageAlertInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = services.usage_alert_create(customer=customer, **data.validated_data)
        state = next(
            state
            for state in selectors.usage_alert_states(
                customer=customer, now=timezone.now()
            )
            if state.alert.pk == alert.pk
        )
        return Response(
            UsageAlertOutputSerializer(state).data, status=status.HTTP_201_CREATED
        )


class CustomerAlertApi(APIView):
    """``DELETE /api/v1/customers/{customer_id}/alerts/{id}/``: deletes an alert."""

    permission_model = UsageAlert

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, customer_id: str, id: str):
        customer = selectors.customer_get(
            organization=request.organization, key=customer_id
        )
        alert = selectors.usage_alert_get(customer=customer, key=id)
        services.usage_alert_delete(alert=alert)
        return Response(status=status.HTTP_204_NO_CONTENT)
