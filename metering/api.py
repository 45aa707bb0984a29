"""Customers API: ``/api/v1/customers/``."""

import django_filters
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from metering import selectors, services
from metering.models import Customer


class CustomerInputSerializer(serializers.Serializer):
    external_id = serializers.RegexField(
        r"^[\w.:@-]+$",
        max_length=128,
        error_messages={"invalid": "Use letters, digits and . _ : @ - only."},
    )
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    metadata = serializers.JSONField(required=False, default=dict)

    def validate_metadata(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class CustomerOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id", "external_id", "name", "email", "metadata",
            "created_at", "updated_at",
        ]  # fmt: skip


class CustomerFilter(django_filters.FilterSet):
    external_id = django_filters.CharFilter()
    email = django_filters.CharFilter(lookup_expr="iexact")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte"
    )

    class Meta:
        model = Customer
        fields = ["external_id", "email", "search", "created_after"]


class CustomerViewSet(viewsets.ModelViewSet):
    """Customers of the organization. ``{id}`` is the primary key or the external id."""

    serializer_class = CustomerOutputSerializer
    filterset_class = CustomerFilter
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.customer_list(organization=self.request.organization)

    def get_object(self) -> Customer:
        return selectors.customer_get(
            organization=self.request.organization, key=self.kwargs["pk"]
        )

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return CustomerInputSerializer
        return CustomerOutputSerializer

    def create(self, request, *args, **kwargs):
        data = CustomerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_create(
            organization=request.organization, **data.validated_data
        )
        return Response(
            CustomerOutputSerializer(customer).data, status=status.HTTP_201_CREATED
        )

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        data = CustomerInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        customer = services.customer_update(
            customer=self.get_object(), **data.validated_data
        )
        return Response(CustomerOutputSerializer(customer).data)

    def destroy(self, request, *args, **kwargs):
        services.customer_delete(customer=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
