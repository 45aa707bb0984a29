"""Billing models API views: the organization's billing models viewset (list,
read, write, delete) with its filters and the ``calculate-cost`` action.
"""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from billing_site.api_errors import django_validation_error_dict
from billing_site.errors import DomainError
from pricing import engine, selectors, services, shapes
from pricing.api.fields import MONEY_FORMAT, DecimalJSONParser
from pricing.api.inputs import (
    BillingModelInputSerializer,
    CostCalculateInputSerializer,
    _errors_in_request_shape,
    _nested_input,
    _spec,
)
from pricing.api.outputs import (
    BillingModelOutputSerializer,
    CostOutputSerializer,
    billing_model_data,
    cost_data,
)
from pricing.models import BillingModel


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

    permission_model = BillingModel
    action_permissions = {"calculate_cost": "pricing.view_billingmodel"}

    serializer_class = BillingModelOutputSerializer
    filterset_class = BillingModelFilter
    parser_classes = [DecimalJSONParser]
    lookup_url_kwarg = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return BillingModel.objects.none()
        return selectors.billing_model_list(organization=self.request.organization)

    def get_object(self) -> BillingModel:
        return selectors.billing_model_get(
            organization=self.request.organization, pk=self.kwargs["id"]
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
    def calculate_cost(self, request, id=None):
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
