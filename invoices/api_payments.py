"""Payments API: ``/invoices/{id}/payments/``.

``POST`` records a payment for an open invoice: 201 when it is new, 200 when its
``reference`` was already recorded for the same invoice and amount (a retry), 409
when the reference belongs to another payment or the invoice takes no payment,
400 for more than the amount due. ``GET`` lists the invoice's payments.
"""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api_fields import BoundedDateTimeField, StrictDecimalField
from billing_site.api_input import StrictLimitOffsetPagination
from billing_site.api_schema import error_response
from invoices import selectors
from invoices.models import Payment
from invoices.services.payments import (
    UnsignedRequest,
    invoice_payment_record,
    provider_payment_receive,
)
from metering.models import Organization


class PaymentInputSerializer(serializers.Serializer):
    amount = StrictDecimalField(
        max_digits=18,
        decimal_places=2,
        help_text="In the invoice's currency, more than 0, at most the amount due.",
    )
    paid_at = BoundedDateTimeField(help_text="When the money was received.")
    reference = serializers.CharField(
        max_length=128,
        help_text="The provider's or bank's reference; recording is idempotent by it.",
    )


class PaymentOutputSerializer(serializers.ModelSerializer):
    invoice_id = serializers.IntegerField()

    class Meta:
        model = Payment
        fields = [
            "id", "invoice_id", "amount", "currency", "paid_at", "reference",
            "source", "created_at",
        ]  # fmt: skip


class InvoicePaymentsApi(APIView):
    """The payments of invoice ``{id}`` of the organization."""

    permission_model = Payment
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(responses=PaymentOutputSerializer(many=True))
    def get(self, request, id: str):
        invoice = selectors.invoice_get(organization=request.organization, pk=id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            invoice.payments.order_by("paid_at", "id"), request, view=self
        )
        return paginator.get_paginated_response(
            PaymentOutputSerializer(page, many=True).data
        )

    @extend_schema(
        request=PaymentInputSerializer,
        responses={
            201: PaymentOutputSerializer,
            200: PaymentOutputSerializer,
            409: error_response(409),
        },
    )
    def post(self, request, id: str):
        invoice = selectors.invoice_get(organization=request.organization, pk=id)
        data = PaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment, created = invoice_payment_record(
            invoice=invoice,
            amount=data.validated_data["amount"],
            paid_at=data.validated_data["paid_at"],
            reference=data.validated_data["reference"],
            source=Payment.Source.API,
            now=timezone.now(),
        )
        return Response(
            PaymentOutputSerializer(payment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ProviderEventAck(serializers.Serializer):
    recorded = serializers.BooleanField(
        help_text="Whether this request stored a new payment."
    )
    payment = PaymentOutputSerializer(allow_null=True)


class PaymentProviderWebhookApi(APIView):
    """``POST /api/v1/payment-provider/{id}/events/`` (``{id}``: the
    organization's slug): a payment provider's signed event (Standard Webhooks
    headers with the organization's payment webhook secret; no API key).
    ``payment.succeeded`` with ``data: {invoice_number, amount, currency,
    reference, paid_at}`` records the payment; other types are acknowledged.
    401 when the signature, its headers or its timestamp (more than 5 minutes
    away) do not verify."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: ProviderEventAck,
            201: ProviderEventAck,
            401: error_response(401),
        },
        auth=[],
    )
    def post(self, request, id: str):
        found = Organization.objects.filter(slug=id).first()
        if found is None:
            raise Http404(f"No organization {id!r}")
        try:
            payment, created = provider_payment_receive(
                organization=found,
                headers=dict(request.headers),
                body=request.body,
                now=timezone.now(),
            )
        except UnsignedRequest as error:
            return Response(
                {"errors": {error.field: [error.message]}},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        return Response(
            {
                "recorded": created,
                "payment": PaymentOutputSerializer(payment).data if payment else None,
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
