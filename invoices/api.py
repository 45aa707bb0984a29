"""Invoicing API: invoices (read, PDF, CSV, finalize), provider charges,
subscriptions and the current usage cost of a customer (tax rates, tax profiles
and coupons: ``invoices.api_taxes_coupons``).

An invoice's figures: ``subtotal`` (its charges, net of any tax they include),
``discount_total``, ``tax_total``, ``total`` (see ``invoices.rating``), what has
settled it so far (``credits_applied`` from the prepaid wallet, ``amount_paid``
by payments, ``amount_credited`` by credit notes) and ``amount_due``, what the
customer still owes: ``total - credits_applied - amount_paid - amount_credited``.

``customer_id`` is always the customer's external id; ``customer_tax_id`` and
``customer_country`` are the customer's tax profile when the invoice was rated.
Money is rendered as decimal strings. Issued invoices cannot be edited: there is
no write endpoint for invoices besides the lifecycle actions.
"""

from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api_fields import (
    BoundedDateTimeField,
    StrictDecimalField,
    StrictIntegerField,
)
from billing_site.api_input import aliased_query_param
from billing_site.api_schema import customer_filter_parameters, error_response
from billing_site.decimals import plain_decimal
from billing_site.errors import DomainError
from invoices import exports, periods, selectors, services
from invoices.models import Invoice, ProviderCharge, Subscription
from metering.models import Customer
from metering.selectors import customer_get, customer_named
from pricing.selectors import billing_model_get


class InvoiceLineOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    description = serializers.CharField()
    quantity = serializers.DecimalField(
        max_digits=30, decimal_places=6, allow_null=True, normalize_output=True
    )
    unit_price = serializers.DecimalField(
        max_digits=24, decimal_places=8, allow_null=True, normalize_output=True
    )
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class InvoiceOutputSerializer(serializers.ModelSerializer):
    customer_id = serializers.CharField(source="customer_external_id")
    lines = InvoiceLineOutputSerializer(many=True)

    class Meta:
        model = Invoice
        fields = [
            "id", "number", "customer_id", "customer_tax_id", "customer_country",
            "period_start", "period_end", "status",
            "currency", "subtotal", "discount_total", "tax_total", "total",
            "credits_applied", "amount_paid", "amount_credited", "amount_due",
            "lines",
        ]  # fmt: skip


class InvoiceFilterSerializer(serializers.Serializer):
    customer_id = serializers.CharField(
        required=False,
        max_length=128,
        help_text="The customer's external id, or its id.",
    )
    status = serializers.ChoiceField(choices=Invoice.Status.choices, required=False)
    period = serializers.CharField(
        required=False,
        max_length=10,
        help_text="YYYY-MM (a month) or YYYY-MM-DD (a day).",
    )

    def validate_period(self, value: str) -> periods.Period:
        try:
            return periods.period_parse(value)
        except DomainError as error:
            raise serializers.ValidationError(error.message) from None


class VoidInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )


def _download(media_type: str, description: str) -> dict:
    return {(200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description)}


@extend_schema_view(
    list=extend_schema(parameters=[InvoiceFilterSerializer]),
    pdf=extend_schema(responses=_download("application/pdf", "The invoice as PDF.")),
    csv=extend_schema(responses=_download("text/csv", "The invoice's lines as CSV.")),
    finalize=extend_schema(request=None, responses=InvoiceOutputSerializer),
    mark_paid=extend_schema(request=None, responses=InvoiceOutputSerializer),
    void=extend_schema(request=VoidInputSerializer, responses=InvoiceOutputSerializer),
)
class InvoiceViewSet(viewsets.ReadOnlyModelViewSet):
    """Invoices of the organization, newest period first.

    Filters: ``customer_id`` (external id), ``status``, ``period`` (``YYYY-MM`` or
    ``YYYY-MM-DD``).
    """

    permission_model = Invoice
    action_permissions = {
        "finalize": "invoices.finalize_invoice",
        "void": "invoices.void_invoice",
        "mark_paid": "invoices.change_invoice",
    }

    serializer_class = InvoiceOutputSerializer
    filter_backends: list = []
    lookup_url_kwarg = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Invoice.objects.none()
        filters = InvoiceFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        customer = None
        if data.get("customer_id"):
            customer = customer_named(
                organization=self.request.organization,
                key=data["customer_id"],
                field="customer_id",
            )
        return selectors.invoice_list(
            organization=self.request.organization,
            customer_external_id=customer and customer.external_id,
            status=data.get("status"),
            period=data.get("period"),
        )

    def get_object(self) -> Invoice:
        return selectors.invoice_get(
            organization=self.request.organization, pk=self.kwargs["id"]
        )

    @action(detail=True, methods=["get"])
    def pdf(self, request, id=None):
        invoice = self.get_object()
        response = HttpResponse(
            exports.invoice_pdf(invoice), content_type="application/pdf"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{exports.invoice_pdf_filename(invoice)}"'
        )
        return response

    @action(detail=True, methods=["get"])
    def csv(self, request, id=None):
        invoice = self.get_object()
        response = HttpResponse(
            exports.invoices_csv([invoice]), content_type="text/csv"
        )
        name = invoice.number or f"draft-{invoice.pk}"
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response

    @action(detail=True, methods=["post"])
    def finalize(self, request, id=None):
        invoice = services.invoice_finalize(
            invoice=self.get_object(), now=timezone.now()
        )
        return Response(InvoiceOutputSerializer(self._reload(invoice)).data)

    @action(detail=True, methods=["post"], url_path="mark-paid")
    def mark_paid(self, request, id=None):
        invoice = services.invoice_mark_paid(
            invoice=self.get_object(), now=timezone.now()
        )
        return Response(InvoiceOutputSerializer(self._reload(invoice)).data)

    @action(detail=True, methods=["post"])
    def void(self, request, id=None):
        data = VoidInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.invoice_void(
            invoice=self.get_object(),
            now=timezone.now(),
            reason=data.validated_data["reason"],
        )
        return Response(
            InvoiceOutputSerializer(
                selectors.invoice_get(organization=request.organization, pk=id)
            ).data
        )

    def _reload(self, invoice: Invoice) -> Invoice:
        return selectors.invoice_get(
            organization=self.request.organization, pk=invoice.pk
        )


class ProviderChargeInputSerializer(serializers.Serializer):
    customer_id = serializers.CharField(max_length=128)
    provider = serializers.CharField(max_length=100)
    period = serializers.CharField(max_length=10, help_text="YYYY-MM")
    amount = StrictDecimalField(
        max_digits=18,
        decimal_places=2,
        help_text="Negative for a credit, which needs credit_reason.",
    )
    description = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    credit_reason = serializers.CharField(
        max_length=280, required=False, allow_blank=True, default=""
    )
    external_ref = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default=""
    )

    def validate_period(self, value: str) -> periods.Period:
        try:
            period = periods.period_parse(value)
        except DomainError as error:
            raise serializers.ValidationError(error.message) from None
        if period.frequency != periods.MONTHLY:
            raise serializers.ValidationError("Use YYYY-MM.")
        return period


class ProviderChargeOutputSerializer(serializers.ModelSerializer):
    customer_id = serializers.CharField(source="customer.external_id")
    period = serializers.SerializerMethodField()
    invoice_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = ProviderCharge
        fields = [
            "id", "customer_id", "provider", "period", "amount", "description",
            "external_ref", "invoice_id", "created_at",
        ]  # fmt: skip

    def get_period(self, charge: ProviderCharge) -> str:
        return charge.period_start.strftime("%Y-%m")


def _of_named_customer(request, rows):
    """``rows`` of the customer the ``customer_id`` query parameter names, if any;
    an unknown customer is a 400 naming it."""
    if named := aliased_query_param(request.query_params, "customer_id"):
        field, key = named
        customer = customer_named(
            organization=request.organization, key=key, field=field
        )
        rows = rows.filter(customer=customer)
    return rows


@extend_schema_view(
    list=extend_schema(parameters=customer_filter_parameters()),
    create=extend_schema(
        request=ProviderChargeInputSerializer,
        responses={201: ProviderChargeOutputSerializer, 409: error_response(409)},
    ),
)
class ProviderChargeViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Provider network charges, passed through on the customer's monthly invoice."""

    permission_model = ProviderCharge

    serializer_class = ProviderChargeOutputSerializer
    filter_backends: list = []
    lookup_url_kwarg = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return ProviderCharge.objects.none()
        return _of_named_customer(
            self.request,
            ProviderCharge.objects.filter(
                organization=self.request.organization
            ).select_related("customer"),
        )

    def get_serializer_class(self):
        if self.action == "create":
            return ProviderChargeInputSerializer
        return ProviderChargeOutputSerializer

    def create(self, request, *args, **kwargs):
        data = ProviderChargeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        customer = _customer(request, fields.pop("customer_id"))
        period = fields.pop("period")
        charge = services.provider_charge_create(
            organization=request.organization,
            customer=customer,
            period_start=period.start,
            **fields,
        )
        return Response(
            ProviderChargeOutputSerializer(charge).data, status=status.HTTP_201_CREATED
        )


def _customer(request, external_id: str):
    """The organization's customer by external id; a 400 naming customer_id."""
    found = Customer.objects.filter(
        organization=request.organization, external_id=external_id
    ).first()
    if found is None:
        raise DomainError(f"Unknown customer {external_id!r}.", field="customer_id")
    return found


class SubscriptionInputSerializer(serializers.Serializer):
    customer_id = serializers.CharField(max_length=128)
    billing_model_id = StrictIntegerField(min_value=1)
    agents = StrictIntegerField(min_value=0, max_value=1_000_000, default=0)
    starts_at = BoundedDateTimeField()


class SubscriptionOutputSerializer(serializers.ModelSerializer):
    customer_id = serializers.CharField(source="customer.external_id")
    billing_model_id = serializers.IntegerField()

    class Meta:
        model = Subscription
        fields = [
            "id", "customer_id", "billing_model_id", "agents", "starts_at", "ends_at",
        ]  # fmt: skip


@extend_schema_view(
    list=extend_schema(parameters=customer_filter_parameters()),
    create=extend_schema(
        request=SubscriptionInputSerializer,
        responses={201: SubscriptionOutputSerializer, 409: error_response(409)},
    ),
)
class SubscriptionViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Assignments of customers to billing models."""

    permission_model = Subscription

    serializer_class = SubscriptionOutputSerializer
    filter_backends: list = []
    lookup_url_kwarg = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Subscription.objects.none()
        return _of_named_customer(
            self.request,
            Subscription.objects.filter(
                organization=self.request.organization
            ).select_related("customer"),
        )

    def get_serializer_class(self):
        if self.action == "create":
            return SubscriptionInputSerializer
        return SubscriptionOutputSerializer

    def create(self, request, *args, **kwargs):
        data = SubscriptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        customer = _customer(request, fields["customer_id"])
        try:
            billing_model = billing_model_get(
                organization=request.organization, pk=fields["billing_model_id"]
            )
        except Http404:
            raise DomainError(
                "Unknown billing model.", field="billing_model_id"
            ) from None
        subscription = services.subscription_create(
            organization=request.organization,
            customer=customer,
            billing_model=billing_model,
            agents=fields["agents"],
            starts_at=fields["starts_at"],
        )
        return Response(
            SubscriptionOutputSerializer(subscription).data,
            status=status.HTTP_201_CREATED,
        )


class RatingOutputSerializer(serializers.Serializer):
    subtotal = serializers.DecimalField(max_digits=18, decimal_places=2)
    total = serializers.DecimalField(max_digits=18, decimal_places=2)
    lines = InvoiceLineOutputSerializer(many=True)


class CurrentUsageCostOutputSerializer(serializers.Serializer):
    customer_id = serializers.CharField(help_text="The external id.")
    currency = serializers.CharField()
    period = serializers.CharField(help_text="The open month, YYYY-MM.")
    day = serializers.CharField(help_text="The open day, YYYY-MM-DD.")
    total = serializers.DecimalField(max_digits=18, decimal_places=2)
    monthly = RatingOutputSerializer(help_text="Monthly charges so far.")
    daily = RatingOutputSerializer(
        help_text="The open day's daily and per-use charges."
    )


def _rating_json(rated) -> dict:
    return {
        "subtotal": str(rated.subtotal),
        "total": str(rated.total),
        "lines": [
            {
                "kind": line.kind,
                "description": line.description,
                "quantity": None
                if line.quantity is None
                else plain_decimal(line.quantity),
                "unit_price": (
                    None if line.unit_price is None else plain_decimal(line.unit_price)
                ),
                "amount": str(line.amount),
            }
            for line in rated.lines
        ],
    }


class CurrentUsageCostApi(APIView):
    """``GET /api/v1/customers/{id}/current-usage-cost/``: the running total of the
    open month (and of the open day's daily and per-use charges), rated exactly as
    the invoices will be. ``{id}`` is the primary key or the external id."""

    permission_model = Invoice

    @extend_schema(responses=CurrentUsageCostOutputSerializer)
    def get(self, request, id: str):
        customer = customer_get(organization=request.organization, key=id)
        cost = selectors.current_usage_cost(customer=customer, now=timezone.now())
        return Response(
            {
                "customer_id": customer.external_id,
                "currency": request.organization.currency,
                "period": cost.month.label,
                "day": cost.day.label,
                "total": str(cost.total),
                "monthly": _rating_json(cost.monthly),
                "daily": _rating_json(cost.daily),
            }
        )
