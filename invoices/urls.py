"""URL patterns this app contributes; the root URLconf mounts each list."""

from django.urls import path, re_path

from billing_site.routers import OptionalSlashRouter
from invoices import views
from invoices.api import (
    CurrentUsageCostApi,
    InvoiceViewSet,
    ProviderChargeViewSet,
    SubscriptionViewSet,
)
from invoices.api_credit_notes import (
    CreditNoteApi,
    CreditNotePdfApi,
    InvoiceCreditNotesApi,
)
from invoices.api_payments import InvoicePaymentsApi, PaymentProviderWebhookApi
from invoices.api_taxes_coupons import (
    CouponViewSet,
    CustomerCouponsApi,
    CustomerTaxProfileApi,
    TaxRateViewSet,
)
from invoices.api_wallets import (
    CustomerWalletApi,
    CustomerWalletTopUpsApi,
    CustomerWalletTransactionsApi,
)

router = OptionalSlashRouter()
router.register("invoices", InvoiceViewSet, basename="invoice")
router.register("provider-charges", ProviderChargeViewSet, basename="provider-charge")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("tax-rates", TaxRateViewSet, basename="tax-rate")
router.register("coupons", CouponViewSet, basename="coupon")

# under /api/v1/
api_urlpatterns = [
    re_path(
        r"^customers/(?P<id>[^/]+)/tax-profile/?$",
        CustomerTaxProfileApi.as_view(),
        name="customer-tax-profile",
    ),
    re_path(
        r"^customers/(?P<id>[^/]+)/coupons/?$",
        CustomerCouponsApi.as_view(),
        name="customer-coupons",
    ),
    re_path(
        r"^customers/(?P<id>[^/]+)/wallet/?$",
        CustomerWalletApi.as_view(),
        name="customer-wallet",
    ),
    re_path(
        r"^customers/(?P<id>[^/]+)/wallet/transactions/?$",
        CustomerWalletTransactionsApi.as_view(),
        name="customer-wallet-transactions",
    ),
    re_path(
        r"^customers/(?P<id>[^/]+)/wallet/top-ups/?$",
        CustomerWalletTopUpsApi.as_view(),
        name="customer-wallet-top-ups",
    ),
    re_path(
        r"^customers/(?P<id>[^/]+)/current-usage-cost/?$",
        CurrentUsageCostApi.as_view(),
        name="customer-current-usage-cost",
    ),
    re_path(
        r"^invoices/(?P<id>[^/]+)/payments/?$",
        InvoicePaymentsApi.as_view(),
        name="invoice-payments",
    ),
    re_path(
        r"^payment-provider/(?P<id>[^/]+)/events/?$",
        PaymentProviderWebhookApi.as_view(),
        name="payment-provider-events",
    ),
    re_path(
        r"^invoices/(?P<id>[^/]+)/credit-notes/?$",
        InvoiceCreditNotesApi.as_view(),
        name="invoice-credit-notes",
    ),
    re_path(
        r"^credit-notes/(?P<id>[^/]+)/?$",
        CreditNoteApi.as_view(),
        name="credit-note",
    ),
    re_path(
        r"^credit-notes/(?P<id>[^/]+)/pdf/?$",
        CreditNotePdfApi.as_view(),
        name="credit-note-pdf",
    ),
    *router.urls,
]
staff_urlpatterns = [  # under /staff/, namespace "staff"
    path(
        "pricing/reports/tier-utilisation/",
        views.tier_utilisation_report,
        name="pricing-tier-utilisation",
    ),
]
# under /portal/, namespace "portal"
portal_urlpatterns = [
    path("invoices/", views.portal_invoices, name="invoices"),
    path("invoices/<int:pk>/", views.portal_invoice, name="invoice"),
    path("invoices/<int:pk>/pdf/", views.portal_invoice_pdf, name="invoice-pdf"),
    path(
        "credit-notes/<int:pk>/pdf/",
        views.portal_credit_note_pdf,
        name="credit-note-pdf",
    ),
]
