"""Wallets API: a customer's prepaid credits.

``GET /customers/{id}/wallet/`` gives the wallet's currency and balance (0 before
any credit); ``GET /customers/{id}/wallet/transactions/`` its ledger, one row per
movement, oldest first; ``POST /customers/{id}/wallet/top-ups/`` adds credits,
paid for or granted, optionally expiring. ``{id}`` is the customer's external id
or its numeric id.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api_fields import BoundedDateTimeField, StrictDecimalField
from billing_site.api_input import StrictLimitOffsetPagination
from invoices import services
from invoices.models import Wallet, WalletTransaction
from invoices.selectors.wallets import customer_wallet, wallet_transactions
from metering.selectors import customer_get


class WalletOutputSerializer(serializers.Serializer):
    customer_id = serializers.CharField(help_text="The external id.")
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=18, decimal_places=2)


def _wallet_json(wallet: Wallet) -> dict:
    return WalletOutputSerializer(
        {
            "customer_id": wallet.customer.external_id,
            "currency": wallet.currency,
            "balance": wallet.balance,
        }
    ).data


class WalletTransactionOutputSerializer(serializers.ModelSerializer):
    invoice_id = serializers.IntegerField(allow_null=True)
    credit_note_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = WalletTransaction
        fields = [
            "id", "kind", "amount", "balance_after", "remaining", "paid",
            "expires_at", "invoice_id", "credit_note_id", "occurred_at",
        ]  # fmt: skip


class TopUpInputSerializer(serializers.Serializer):
    amount = StrictDecimalField(
        max_digits=18,
        decimal_places=2,
        help_text="More than 0, in the wallet's currency (the organization's).",
    )
    paid = serializers.BooleanField(
        default=False, help_text="The customer paid for it (else: granted)."
    )
    expires_at = BoundedDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="In the future; null: the credits never expire.",
    )


class CustomerWalletApi(APIView):
    """``GET /api/v1/customers/{id}/wallet/``: currency and balance."""

    permission_model = Wallet

    @extend_schema(responses=WalletOutputSerializer)
    def get(self, request, id: str):
        customer = customer_get(organization=request.organization, key=id)
        return Response(_wallet_json(customer_wallet(customer=customer)))


class CustomerWalletTransactionsApi(APIView):
    """``GET /api/v1/customers/{id}/wallet/transactions/``: the ledger."""

    permission_model = WalletTransaction
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(responses=WalletTransactionOutputSerializer(many=True))
    def get(self, request, id: str):
        customer = customer_get(organization=request.organization, key=id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            wallet_transactions(customer=customer), request, view=self
        )
        return paginator.get_paginated_response(
            WalletTransactionOutputSerializer(page, many=True).data
        )


class CustomerWalletTopUpsApi(APIView):
    """``POST /api/v1/customers/{id}/wallet/top-ups/``: add credits; answers the
    top-up movement."""

    permission_model = WalletTransaction

    @extend_schema(
        request=TopUpInputSerializer,
        responses={201: WalletTransactionOutputSerializer},
    )
    def post(self, request, id: str):
        customer = customer_get(organization=request.organization, key=id)
        data = TopUpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        movement = services.wallet_credit(
            customer=customer,
            kind=WalletTransaction.Kind.TOP_UP,
            now=timezone.now(),
            **data.validated_data,
        )
        return Response(
            WalletTransactionOutputSerializer(movement).data,
            status=status.HTTP_201_CREATED,
        )
