"""The bundles API: operation prices, bundle templates, a customer's offers, and
accepting or declining an offer.

Money (price, list_value, expected_saving, discount, upsell) is rendered as decimal
strings with the currency's minor unit ("28.64"); unit prices and quantities as
exact decimal strings without trailing zeros ("0.015", "1000"); a null
``included_quantity`` means unlimited.
"""

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api_fields import (
    PlainDecimalField,
    StrictDecimalField,
    StrictIntegerField,
    StrictPlainDecimalField,
)
from billing_site.api_input import StrictLimitOffsetPagination
from billing_site.decimals import plain_decimal
from bundles import selectors, services
from bundles.models import (
    BundleTemplate,
    OperationPrice,
    PersonalizedBundle,
    Validity,
)
from metering.selectors import customer_get


def _actor(request) -> str:
    api_key = getattr(request, "auth", None)
    prefix = getattr(api_key, "prefix", None)
    if prefix:
        return f"api:{prefix}"
    return f"staff:{request.user.get_username()}"


# Operation prices -------------------------------------------------------------------


class OperationPriceInputSerializer(serializers.Serializer):
    operation = serializers.CharField(max_length=100)
    unit_price = StrictDecimalField(
        max_digits=18, decimal_places=8, min_value=Decimal(0)
    )
    # The customer's external id (or primary key) for a per-customer override.
    customer_id = serializers.CharField(max_length=128, required=False, allow_null=True)


class OperationPriceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    operation = serializers.CharField()
    unit_price = PlainDecimalField()
    customer_id = serializers.CharField(
        source="customer.external_id", allow_null=True, default=None
    )


def _paginated(view, request, rows, render):
    """One page of ``rows`` in the API's pagination shape; ``render`` turns the
    page's rows into their JSON."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(render(page))


class OperationPriceListCreateApi(APIView):
    permission_model = OperationPrice
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(responses=OperationPriceOutputSerializer(many=True))
    def get(self, request):
        prices = selectors.operation_price_list(organization=request.organization)
        return _paginated(
            self,
            request,
            prices,
            lambda page: OperationPriceOutputSerializer(page, many=True).data,
        )

    @extend_schema(
        request=OperationPriceInputSerializer,
        responses={201: OperationPriceOutputSerializer},
        description="Create or replace an operation's list price (or a customer's "
        "override when customer_id is given).",
    )
    def post(self, request):
        serializer = OperationPriceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = None
        if data.get("customer_id"):
            customer = customer_get(
                organization=request.organization, key=data["customer_id"]
            )
        price = services.operation_price_set(
            organization=request.organization,
            operation=data["operation"],
            unit_price=data["unit_price"],
            customer=customer,
        )
        return Response(
            OperationPriceOutputSerializer(price).data, status=status.HTTP_201_CREATED
        )


# Templates --------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "description": "A name; its weight is 1."},
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "weight": {
                        "type": "string",
                        "format": "decimal",
                        "description": "Positive; a decimal string or a number.",
                    },
                },
                "required": ["name"],
            },
        ]
    }
)
class TargetField(serializers.Field):
    """A target: a name ("heavy:image.*"), or {"name", "weight"} (weight > 0)."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            name, weight = data, Decimal(1)
        elif isinstance(data, dict) and isinstance(data.get("name"), str):
            name = data["name"]
            try:
                weight = Decimal(str(data.get("weight", 1)))
            except ArithmeticError:
                raise serializers.ValidationError("weight must be a number.") from None
            if not weight.is_finite() or weight <= 0:
                raise serializers.ValidationError("weight must be a positive number.")
        else:
            raise serializers.ValidationError(
                'Expected a name or {"name": ..., "weight": ...}.'
            )
        if not name.strip() or len(name) > 100:
            raise serializers.ValidationError("name must be 1 to 100 characters long.")
        return {"name": name, "weight": plain_decimal(weight)}

    def to_representation(self, value):
        if Decimal(value["weight"]) == 1:
            return value["name"]
        return {"name": value["name"], "weight": value["weight"]}


class TemplateOperationSerializer(serializers.Serializer):
    operation = serializers.CharField(max_length=100)
    # null means unlimited.
    included_quantity = StrictPlainDecimalField(
        max_digits=20,
        decimal_places=6,
        allow_null=True,
        required=False,
        min_value=Decimal("0.000001"),
        error_messages={"min_value": "Must be positive, or null for unlimited."},
    )


MAX_VALIDITY_SECONDS = 10 * 366 * 24 * 3600


class BundleTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    operations = TemplateOperationSerializer(many=True, allow_empty=False)
    discount_percent = StrictPlainDecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        required=False,
        allow_null=True,
    )
    fixed_price = StrictDecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=Decimal(0),
        required=False,
        allow_null=True,
    )
    validity = serializers.ChoiceField(choices=Validity.values, default="month")
    # Length of a custom validity, seconds: a minute to ten years.
    validity_seconds = StrictIntegerField(
        min_value=60, max_value=MAX_VALIDITY_SECONDS, required=False, allow_null=True
    )
    target_tags = serializers.ListField(
        child=TargetField(), required=False, default=list
    )
    target_segments = serializers.ListField(
        child=TargetField(), required=False, default=list
    )
    is_active = serializers.BooleanField(required=False, default=True)

    def validate(self, attrs):
        if (
            attrs.get("discount_percent") is not None
            and attrs.get("fixed_price") is not None
        ):
            raise serializers.ValidationError(
                {"fixed_price": ["Give a discount percent or a fixed price, not both."]}
            )
        if attrs.get("validity") == Validity.CUSTOM and not attrs.get(
            "validity_seconds"
        ):
            raise serializers.ValidationError(
                {"validity_seconds": ["A custom validity needs a duration."]}
            )
        return attrs


def template_data(template: BundleTemplate) -> dict:
    return {
        "id": template.pk,
        "name": template.name,
        "description": template.description,
        "operations": [
            {"operation": line.operation, "included_quantity": line.included_quantity}
            for line in template.operations.all()
        ],
        "discount_percent": template.discount_percent,
        "fixed_price": template.fixed_price,
        "validity": template.validity,
        "validity_seconds": (
            int(template.custom_duration.total_seconds())
            if template.custom_duration
            else None
        ),
        "target_tags": template.target_tags,
        "target_segments": template.target_segments,
        "is_active": template.is_active,
    }


class BundleTemplateViewSet(viewsets.ViewSet):
    """Bundle templates of the organization (CRUD)."""

    permission_model = BundleTemplate
    lookup_url_kwarg = "id"
    pagination_class = StrictLimitOffsetPagination

    def _save(self, request, template, partial: bool):
        current = template_data(template) if template is not None else None
        serializer = BundleTemplateSerializer(
            instance=current, data=request.data, partial=partial
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        operations = data.pop("operations", None)
        seconds = data.pop("validity_seconds", None)
        fields = dict(data)
        if "validity" in data or "validity_seconds" in request.data:
            validity = data.get("validity", template and template.validity)
            fields["custom_duration"] = (
                dt.timedelta(seconds=seconds)
                if validity == Validity.CUSTOM and seconds
                else None
            )
        saved = services.bundle_template_save(
            organization=request.organization,
            template=template,
            operations=(
                None
                if operations is None
                else [
                    services.TemplateOperationInput(
                        line["operation"], line.get("included_quantity")
                    )
                    for line in operations
                ]
            ),
            **fields,
        )
        fresh = selectors.template_get(organization=request.organization, pk=saved.pk)
        return BundleTemplateSerializer(template_data(fresh)).data

    def _get(self, request, id) -> BundleTemplate:
        return selectors.template_get(organization=request.organization, pk=id)

    @extend_schema(responses=BundleTemplateSerializer(many=True))
    def list(self, request):
        templates = selectors.template_list(organization=request.organization)
        return _paginated(
            self,
            request,
            templates,
            lambda page: (
                BundleTemplateSerializer(
                    [template_data(t) for t in page], many=True
                ).data
            ),
        )

    @extend_schema(request=BundleTemplateSerializer, responses=BundleTemplateSerializer)
    def create(self, request):
        return Response(
            self._save(request, None, partial=False), status=status.HTTP_201_CREATED
        )

    @extend_schema(responses=BundleTemplateSerializer)
    def retrieve(self, request, id=None):
        return Response(
            BundleTemplateSerializer(template_data(self._get(request, id))).data
        )

    @extend_schema(request=BundleTemplateSerializer, responses=BundleTemplateSerializer)
    def update(self, request, id=None):
        return Response(self._save(request, self._get(request, id), partial=False))

    @extend_schema(request=BundleTemplateSerializer, responses=BundleTemplateSerializer)
    def partial_update(self, request, id=None):
        return Response(self._save(request, self._get(request, id), partial=True))

    @extend_schema(responses={204: None})
    def destroy(self, request, id=None):
        services.bundle_template_delete(template=self._get(request, id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# Personalised bundles ---------------------------------------------------------------


class BundleLineOutputSerializer(serializers.Serializer):
    operation = serializers.CharField()
    included_quantity = PlainDecimalField(allow_null=True)
    unit_price = PlainDecimalField()


class BundleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer_id = serializers.CharField(source="customer.external_id")
    status = serializers.CharField()
    currency = serializers.CharField()
    price = serializers.DecimalField(max_digits=18, decimal_places=2)
    list_value = serializers.DecimalField(max_digits=18, decimal_places=2)
    discount = serializers.DecimalField(max_digits=18, decimal_places=2)
    upsell = serializers.DecimalField(max_digits=18, decimal_places=2)
    expected_saving = serializers.DecimalField(max_digits=18, decimal_places=2)
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    templates = serializers.SerializerMethodField()
    lines = BundleLineOutputSerializer(many=True, source="lines.all")
    reasons = serializers.JSONField()

    def get_templates(self, bundle) -> list[str]:
        return sorted(template.name for template in bundle.templates.all())


class CustomerBundleListApi(APIView):
    """``GET /api/v1/customers/{id}/bundles/``: the customer's bundles, newest
    first; ``{id}`` is the external id or the id."""

    permission_model = PersonalizedBundle
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(responses=BundleOutputSerializer(many=True))
    def get(self, request, id):
        customer = customer_get(organization=request.organization, key=id)
        bundles = selectors.customer_bundles(
            organization=request.organization, customer=customer
        )
        return _paginated(
            self,
            request,
            bundles,
            lambda page: BundleOutputSerializer(page, many=True).data,
        )


class BundleDetailApi(APIView):
    permission_model = PersonalizedBundle

    @extend_schema(responses=BundleOutputSerializer)
    def get(self, request, id):
        bundle = selectors.bundle_get(organization=request.organization, pk=id)
        return Response(BundleOutputSerializer(bundle).data)


class _BundleTransitionApi(APIView):
    permission_model = PersonalizedBundle
    action_permissions = {"POST": "bundles.change_personalizedbundle"}

    service = None

    @extend_schema(request=None, responses=BundleOutputSerializer)
    def post(self, request, id):
        bundle = selectors.bundle_get(organization=request.organization, pk=id)
        type(self).service(bundle=bundle, now=timezone.now(), actor=_actor(request))
        fresh = selectors.bundle_get(organization=request.organization, pk=id)
        return Response(BundleOutputSerializer(fresh).data)


class BundleAcceptApi(_BundleTransitionApi):
    """Accept an offer within its validity; it becomes active at once."""

    service = services.bundle_accept


class BundleDeclineApi(_BundleTransitionApi):
    """Decline an offer."""

    service = services.bundle_decline
