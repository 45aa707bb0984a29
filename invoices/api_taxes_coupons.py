"""Taxes and coupons API: tax rates, a customer's tax profile, coupons and their
redemption by customers.

A customer's tax profile (country, tax id, exemption, ``tax_rate_codes``) has its
own endpoint, ``/customers/{id}/tax-profile/``, rather than fields of metering's
customer: the rates are invoicing's records, which metering may not import.
``{id}`` is the customer's external id or its numeric id.
"""

import re

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api_fields import (
    BoundedDateTimeField,
    StrictDecimalField,
    StrictIntegerField,
)
from billing_site.api_input import StrictLimitOffsetPagination
from billing_site.api_schema import error_response
from billing_site.errors import DomainError
from invoices import selectors, services
from invoices.models import Coupon, CouponRedemption, CustomerTaxProfile, TaxRate
from metering.selectors import customer_get

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise serializers.ValidationError(
            "Use letters, digits, '_', '.' and '-', starting with a letter or digit."
        )
    return value


def _country(value: str) -> str:
    if value and not _COUNTRY.fullmatch(value):
        raise serializers.ValidationError("Use a two-letter ISO 3166-1 country code.")
    return value


class TaxRateInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32, validators=[_code])
    name = serializers.CharField(max_length=100)
    rate_percent = StrictDecimalField(
        max_digits=8,
        decimal_places=4,
        min_value=0,
        max_value=100,
        help_text="Percent of the taxable amount, 0 to 100, up to 4 decimals.",
    )
    country = serializers.CharField(
        max_length=2,
        required=False,
        allow_blank=True,
        default="",
        validators=[_country],
        help_text="ISO 3166-1 alpha-2; blank: every country.",
    )
    inclusive = serializers.BooleanField(
        default=False, help_text="Prices already contain the tax."
    )
    is_default = serializers.BooleanField(
        default=False,
        help_text="Taxes customers without rates of their own (of its country).",
    )


class TaxRateOutputSerializer(serializers.ModelSerializer):
    rate_percent = serializers.DecimalField(
        max_digits=8, decimal_places=4, normalize_output=True
    )

    class Meta:
        model = TaxRate
        fields = [
            "id", "code", "name", "rate_percent", "country", "inclusive",
            "is_default", "created_at",
        ]  # fmt: skip


@extend_schema_view(
    create=extend_schema(
        request=TaxRateInputSerializer,
        responses={201: TaxRateOutputSerializer, 409: error_response(409)},
    )
)
class TaxRateViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """The organization's tax rates, by code."""

    permission_model = TaxRate
    serializer_class = TaxRateOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return TaxRate.objects.none()
        return selectors.tax_rate_list(organization=self.request.organization)

    def get_serializer_class(self):
        if self.action == "create":
            return TaxRateInputSerializer
        return TaxRateOutputSerializer

    def create(self, request, *args, **kwargs):
        data = TaxRateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rate = services.tax_rate_create(
            organization=request.organization, **data.validated_data
        )
        return Response(
            TaxRateOutputSerializer(rate).data, status=status.HTTP_201_CREATED
        )


class TaxProfileInputSerializer(serializers.Serializer):
    country = serializers.CharField(
        max_length=2,
        required=False,
        allow_blank=True,
        default="",
        validators=[_country],
        help_text="ISO 3166-1 alpha-2: chooses the organization's default rates.",
    )
    tax_id = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )
    tax_exempt = serializers.BooleanField(
        default=False, help_text="Exempt customers' invoices carry no tax."
    )
    tax_rate_codes = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        default=list,
        max_length=20,
        help_text="The customer's own rates; empty: the organization's defaults.",
    )
    payment_terms_days = StrictIntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=365,
        help_text="Days from issue to due date; null: the organization's terms.",
    )


class TaxProfileOutputSerializer(serializers.Serializer):
    customer_id = serializers.CharField(help_text="The external id.")
    country = serializers.CharField()
    tax_id = serializers.CharField()
    tax_exempt = serializers.BooleanField()
    tax_rate_codes = serializers.ListField(child=serializers.CharField())
    payment_terms_days = serializers.IntegerField(allow_null=True)


def _profile_json(profile: CustomerTaxProfile) -> dict:
    return {
        "customer_id": profile.customer.external_id,
        "country": profile.country,
        "tax_id": profile.tax_id,
        "tax_exempt": profile.tax_exempt,
        "tax_rate_codes": (
            sorted(rate.code for rate in profile.tax_rates.all()) if profile.pk else []
        ),
        "payment_terms_days": profile.payment_terms_days,
    }


class CustomerTaxProfileApi(APIView):
    """``GET`` / ``PUT /api/v1/customers/{id}/tax-profile/``: the customer's
    country, tax id, exemption and own tax rates (``PUT`` replaces them all)."""

    permission_model = CustomerTaxProfile

    @extend_schema(responses=TaxProfileOutputSerializer)
    def get(self, request, id: str):
        customer = customer_get(organization=request.organization, key=id)
        return Response(
            _profile_json(selectors.customer_tax_profile(customer=customer))
        )

    @extend_schema(
        request=TaxProfileInputSerializer, responses=TaxProfileOutputSerializer
    )
    def put(self, request, id: str):
        customer = customer_get(organization=request.organization, key=id)
        data = TaxProfileInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.customer_tax_profile_update(customer=customer, **data.validated_data)
        return Response(
            _profile_json(selectors.customer_tax_profile(customer=customer))
        )


class CouponInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64, validators=[_code])
    name = serializers.CharField(max_length=200)
    percent_off = StrictDecimalField(
        max_digits=7,
        decimal_places=4,
        required=False,
        allow_null=True,
        default=None,
        help_text="More than 0, at most 100. Exactly one of percent_off, amount_off.",
    )
    amount_off = StrictDecimalField(
        max_digits=18,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        help_text="With currency, the organization's.",
    )
    currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, default=""
    )
    duration = serializers.ChoiceField(choices=Coupon.Duration.choices)
    duration_in_periods = StrictIntegerField(
        min_value=1,
        max_value=1200,
        required=False,
        allow_null=True,
        default=None,
        help_text="Monthly periods a repeating coupon discounts.",
    )
    max_redemptions = StrictIntegerField(
        min_value=1,
        max_value=2_000_000_000,
        required=False,
        allow_null=True,
        default=None,
    )
    expires_at = BoundedDateTimeField(
        required=False, allow_null=True, default=None, help_text="No redemption after."
    )
    applies_to_operations = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        default=list,
        max_length=100,
        help_text="Operation codes whose charges it discounts; empty: every charge.",
    )


class CouponOutputSerializer(serializers.ModelSerializer):
    percent_off = serializers.DecimalField(
        max_digits=7, decimal_places=4, allow_null=True, normalize_output=True
    )
    amount_off = serializers.DecimalField(
        max_digits=18, decimal_places=2, allow_null=True
    )
    applies_to_operations = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Coupon
        fields = [
            "id", "code", "name", "percent_off", "amount_off", "currency",
            "duration", "duration_in_periods", "max_redemptions", "times_redeemed",
            "expires_at", "applies_to_operations", "created_at",
        ]  # fmt: skip


@extend_schema_view(
    create=extend_schema(
        request=CouponInputSerializer,
        responses={201: CouponOutputSerializer, 409: error_response(409)},
    )
)
class CouponViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """The organization's coupons, by code."""

    permission_model = Coupon
    serializer_class = CouponOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Coupon.objects.none()
        return selectors.coupon_list(organization=self.request.organization)

    def get_serializer_class(self):
        if self.action == "create":
            return CouponInputSerializer
        return CouponOutputSerializer

    def create(self, request, *args, **kwargs):
        data = CouponInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        coupon = services.coupon_create(
            organization=request.organization, **data.validated_data
        )
        return Response(
            CouponOutputSerializer(coupon).data, status=status.HTTP_201_CREATED
        )


class RedemptionInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64, help_text="The coupon's code.")


class RedemptionOutputSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="coupon.code")
    customer_id = serializers.CharField(source="customer.external_id")

    class Meta:
        model = CouponRedemption
        fields = [
            "id", "code", "customer_id", "redeemed_at", "first_period_start",
            "last_period_start",
        ]  # fmt: skip


class CustomerCouponsApi(APIView):
    """``GET /api/v1/customers/{id}/coupons/``: the customer's redemptions;
    ``POST`` with a coupon's ``code`` redeems it from the current month (a 409
    once it reached its maximum or the customer already redeemed it)."""

    permission_model = CouponRedemption
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(responses=RedemptionOutputSerializer(many=True))
    def get(self, request, id: str):
        customer = customer_get(organization=request.organization, key=id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.customer_redemptions(customer=customer), request, view=self
        )
        return paginator.get_paginated_response(
            RedemptionOutputSerializer(page, many=True).data
        )

    @extend_schema(
        request=RedemptionInputSerializer,
        responses={201: RedemptionOutputSerializer, 409: error_response(409)},
    )
    def post(self, request, id: str):
        customer = customer_get(organization=request.organization, key=id)
        data = RedemptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        code = data.validated_data["code"]
        coupon = (
            selectors.coupon_list(organization=request.organization)
            .filter(code=code)
            .first()
        )
        if coupon is None:
            raise DomainError(f"Unknown coupon {code!r}.", field="code")
        redemption = services.coupon_redeem(
            coupon=coupon, customer=customer, now=timezone.now()
        )
        return Response(
            RedemptionOutputSerializer(redemption).data,
            status=status.HTTP_201_CREATED,
        )
