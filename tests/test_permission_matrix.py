"""Who may do what: every API operation in the OpenAPI schema and every staff page,
tried by each kind of caller against one organization's objects.

Roles: anonymous; an API key of another organization; a portal customer's login;
staff of the organization without permissions; staff of another organization
(with every permission there) naming this one; staff of the organization with
view permissions only; staff with every permission; the organization's own key.
Each request runs in a savepoint that is rolled back, so every role meets the same
objects; a refused request must also leave every table as it was.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from bundles.tests.factories import (
    BundleTemplateFactory,
    BundleTemplateOperationFactory,
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from invoices.periods import MONTHLY, Period
from invoices.services import invoice_finalize, invoices_generate
from invoices.services.credit_notes import credit_note_create
from invoices.tests.factories import (
    CouponFactory,
    ProviderChargeFactory,
    SubscriptionFactory,
    TaxRateFactory,
)
from metering.models import OrganizationMembership
from metering.services import api_key_create, usage_alert_create
from metering.tests.factories import (
    CustomerFactory,
    OrganizationFactory,
    PortalUserFactory,
    UserFactory,
)
from pricing.tests.factories import ActivityBasedConfigFactory, BillingModelFactory
from profiling.models import CustomerProfile, ProfilingRun, Segment
from scaling.services.recommendations import recommendation_generate
from scaling.tests.factories import (
    BundleCapacityFactory,
    FeatureBundleFactory,
    ForecastFactory,
)
from tests.tables import DOMAIN_APPS, row_counts

pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-06-17T09:00:00+00:00")]

ACME = "Acme Permissions Ltd"
# The instant the module pins the clock to; the world is built around it.
NOW = datetime(2026, 6, 17, 9, 0, tzinfo=UTC)

OPERATIONS = [
    (method.upper(), path)
    for path, methods in SchemaGenerator()
    .get_schema(request=None, public=True)["paths"]
    .items()
    for method in methods
]

ANONYMOUS = "anonymous"
OTHER_KEY = "key of another organization"
PORTAL = "portal customer"
STAFF_NONE = "staff without permissions"
STAFF_OTHER = "staff of another organization"
STAFF_VIEW = "staff with view only"
STAFF_ALL = "staff with change"
OWN_KEY = "key of the organization"
ROLES = (ANONYMOUS, OTHER_KEY, PORTAL, STAFF_NONE, STAFF_OTHER, STAFF_VIEW, STAFF_ALL,
         OWN_KEY)  # fmt: skip

# POST operations that only read (a calculation, a prediction): view permission.
READING_POSTS = {
    "/api/v1/billing-models/{id}/calculate-cost/",
    "/api/v1/customers/{id}/predict-next/",
}


@dataclass(frozen=True)
class Call:
    url: str
    body: dict | None = None
    success: int = 200


def _permissions(*, view_only: bool):
    permissions = Permission.objects.filter(content_type__app_label__in=DOMAIN_APPS)
    if view_only:
        return permissions.filter(codename__startswith="view_")
    return permissions


def _staff(organization, permissions=()):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(permissions)
    OrganizationMembership.objects.create(user=user, organization=organization)
    return user


@pytest.fixture
def world(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    acme = OrganizationFactory(slug="acme-perm", name=ACME)
    other = OrganizationFactory(slug="other-perm")
    customer = CustomerFactory(organization=acme, external_id="acme-1")
    paying = CustomerFactory(organization=acme, external_id="acme-2")
    model = BillingModelFactory(
        organization=acme,
        name="Plan",
        model_type="hybrid",
        subscription_fee=Decimal("40.00"),
    )
    ActivityBasedConfigFactory(billing_model=model)
    spare = BillingModelFactory(organization=acme, name="Spare")
    for each in (customer, paying):
        SubscriptionFactory(
            customer=each,
            billing_model=model,
            starts_at=datetime(2026, 4, 1, tzinfo=UTC),
        )
    may = Period(MONTHLY, datetime(2026, 5, 1).date())
    invoices_generate(organization=acme, period=may, now=NOW)
    draft = customer.invoices.get()
    finalized = invoice_finalize(invoice=paying.invoices.get(), now=NOW)
    credited_line = finalized.lines.get(kind="subscription")
    credit_note = credit_note_create(
        invoice=finalized, lines=[(credited_line.pk, Decimal("1.00"))], now=NOW
    )
    template = BundleTemplateFactory(organization=acme)
    BundleTemplateOperationFactory(template=template, operation="image.resize")
    offered = PersonalizedBundleFactory(
        customer=customer,
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=29),
    )
    PersonalizedBundleLineFactory(
        bundle=offered, operation="image.resize", included_quantity=Decimal("100")
    )
    ProviderChargeFactory(customer=customer)
    plan = FeatureBundleFactory(organization=acme, base_price=Decimal("49.00"))
    BundleCapacityFactory(bundle=plan, capacity=Decimal("1000"))
    ForecastFactory(customer=customer, generated_at=NOW - timedelta(hours=1))
    recommendation = recommendation_generate(customer=customer, now=NOW)
    run = ProfilingRun.objects.create(
        organization=acme,
        status="succeeded",
        window_start=NOW - timedelta(days=30),
        window_end=NOW,
    )
    segment = Segment.objects.create(run=run, label=0, name="Steady", size=1)
    CustomerProfile.objects.create(run=run, customer=customer, segment=segment)

    event = {
        "event_id": "perm-1",
        "customer_id": "acme-1",
        "operation": "image.resize",
        "quantity": "2",
        "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
    }
    billing_model = {
        "name": "Another plan",
        "model_type": "hybrid",
        "subscription_fee": "10.00",
        "activity": {"activity_type": "tokens", "price_per_unit": "0.01"},
    }
    bundle_template = {
        "name": "Another template",
        "discount_percent": "10",
        "validity": "month",
        "operations": [{"operation": "image.resize", "included_quantity": "10"}],
    }
    alert = usage_alert_create(
        customer=customer, kind="spend", threshold=Decimal("100.00")
    )
    CouponFactory(organization=acme, code="WELCOME")
    TaxRateFactory(organization=acme, code="DE19", rate_percent=Decimal("19"))
    model_url = f"/api/v1/billing-models/{model.pk}/"
    template_url = f"/api/v1/bundle-templates/{template.pk}/"
    calls = {
        ("GET", "/api/v1/accounts/{id}/forecasts/"): Call(
            "/api/v1/accounts/acme-1/forecasts/?resource=compute_hours"
        ),
        ("GET", "/api/v1/billing-models/"): Call("/api/v1/billing-models/"),
        ("POST", "/api/v1/billing-models/"): Call(
            "/api/v1/billing-models/", billing_model, 201
        ),
        ("GET", "/api/v1/billing-models/{id}/"): Call(model_url),
        ("PUT", "/api/v1/billing-models/{id}/"): Call(model_url, billing_model),
        ("PATCH", "/api/v1/billing-models/{id}/"): Call(
            model_url, {"subscription_fee": "45.00"}
        ),
        ("DELETE", "/api/v1/billing-models/{id}/"): Call(
            f"/api/v1/billing-models/{spare.pk}/", success=204
        ),
        ("POST", "/api/v1/billing-models/{id}/calculate-cost/"): Call(
            f"{model_url}calculate-cost/", {"units": "1000", "agents": 1}
        ),
        ("GET", "/api/v1/bundle-templates/"): Call("/api/v1/bundle-templates/"),
        ("POST", "/api/v1/bundle-templates/"): Call(
            "/api/v1/bundle-templates/", bundle_template, 201
        ),
        ("GET", "/api/v1/bundle-templates/{id}/"): Call(template_url),
        ("PUT", "/api/v1/bundle-templates/{id}/"): Call(template_url, bundle_template),
        ("PATCH", "/api/v1/bundle-templates/{id}/"): Call(
            template_url, {"discount_percent": "12"}
        ),
        ("DELETE", "/api/v1/bundle-templates/{id}/"): Call(template_url, success=204),
        ("GET", "/api/v1/bundles/{id}/"): Call(f"/api/v1/bundles/{offered.pk}/"),
        ("POST", "/api/v1/bundles/{id}/accept/"): Call(
            f"/api/v1/bundles/{offered.pk}/accept/", {}
        ),
        ("POST", "/api/v1/bundles/{id}/decline/"): Call(
            f"/api/v1/bundles/{offered.pk}/decline/", {}
        ),
        ("GET", "/api/v1/coupons/"): Call("/api/v1/coupons/"),
        ("POST", "/api/v1/coupons/"): Call(
            "/api/v1/coupons/",
            {"code": "NEW10", "name": "New", "percent_off": "10", "duration": "once"},
            201,
        ),
        ("GET", "/api/v1/customers/{id}/coupons/"): Call(
            "/api/v1/customers/acme-1/coupons/"
        ),
        ("POST", "/api/v1/customers/{id}/coupons/"): Call(
            "/api/v1/customers/acme-1/coupons/", {"code": "WELCOME"}, 201
        ),
        ("GET", "/api/v1/customers/{id}/tax-profile/"): Call(
            "/api/v1/customers/acme-1/tax-profile/"
        ),
        ("PUT", "/api/v1/customers/{id}/tax-profile/"): Call(
            "/api/v1/customers/acme-1/tax-profile/",
            {"country": "DE", "tax_id": "DE1", "tax_rate_codes": ["DE19"]},
        ),
        ("GET", "/api/v1/customers/{id}/wallet/"): Call(
            "/api/v1/customers/acme-1/wallet/"
        ),
        ("GET", "/api/v1/customers/{id}/wallet/transactions/"): Call(
            "/api/v1/customers/acme-1/wallet/transactions/"
        ),
        ("POST", "/api/v1/customers/{id}/wallet/top-ups/"): Call(
            "/api/v1/customers/acme-1/wallet/top-ups/", {"amount": "5.00"}, 201
        ),
        ("GET", "/api/v1/tax-rates/"): Call("/api/v1/tax-rates/"),
        ("POST", "/api/v1/tax-rates/"): Call(
            "/api/v1/tax-rates/",
            {"code": "VAT20", "name": "VAT", "rate_percent": "20"},
            201,
        ),
        ("GET", "/api/v1/customers/"): Call("/api/v1/customers/"),
        ("POST", "/api/v1/customers/"): Call(
            "/api/v1/customers/", {"external_id": "acme-3", "name": "New"}, 201
        ),
        ("GET", "/api/v1/customers/{id}/alerts/"): Call(
            "/api/v1/customers/acme-1/alerts/"
        ),
        ("POST", "/api/v1/customers/{id}/alerts/"): Call(
            "/api/v1/customers/acme-1/alerts/",
            {"kind": "usage", "operation": "image.resize", "threshold": "500"},
            201,
        ),
        ("DELETE", "/api/v1/customers/{customer_id}/alerts/{id}/"): Call(
            f"/api/v1/customers/acme-1/alerts/{alert.pk}/", success=204
        ),
        ("GET", "/api/v1/customers/{id}/bundles/"): Call(
            "/api/v1/customers/acme-1/bundles/"
        ),
        ("GET", "/api/v1/customers/{id}/current-usage-cost/"): Call(
            "/api/v1/customers/acme-1/current-usage-cost/"
        ),
        ("GET", "/api/v1/customers/{id}/forecasts/"): Call(
            "/api/v1/customers/acme-1/forecasts/?resource=compute_hours"
        ),
        ("POST", "/api/v1/customers/{id}/predict-next/"): Call(
            "/api/v1/customers/acme-1/predict-next/",
            {"sequence": ["image.resize"], "k": 1},
        ),
        ("GET", "/api/v1/customers/{id}/profile/"): Call(
            "/api/v1/customers/acme-1/profile/"
        ),
        ("GET", "/api/v1/customers/{id}/"): Call("/api/v1/customers/acme-1/"),
        ("PUT", "/api/v1/customers/{id}/"): Call(
            "/api/v1/customers/acme-1/", {"external_id": "acme-1", "name": "Renamed"}
        ),
        ("PATCH", "/api/v1/customers/{id}/"): Call(
            "/api/v1/customers/acme-1/", {"name": "Renamed"}
        ),
        ("DELETE", "/api/v1/customers/{id}/"): Call(
            "/api/v1/customers/acme-3-unknown/", success=204
        ),
        ("GET", "/api/v1/customers/{id}/usage/"): Call(
            "/api/v1/customers/acme-1/usage/"
        ),
        ("GET", "/api/v1/events/"): Call("/api/v1/events/"),
        ("POST", "/api/v1/events/"): Call("/api/v1/events/", event, 201),
        ("POST", "/api/v1/events/batch/"): Call(
            "/api/v1/events/batch/", {"events": [event]}
        ),
        ("GET", "/api/v1/invoices/"): Call("/api/v1/invoices/"),
        ("GET", "/api/v1/invoices/{id}/"): Call(f"/api/v1/invoices/{draft.pk}/"),
        ("GET", "/api/v1/invoices/{id}/credit-notes/"): Call(
            f"/api/v1/invoices/{finalized.pk}/credit-notes/"
        ),
        ("POST", "/api/v1/invoices/{id}/credit-notes/"): Call(
            f"/api/v1/invoices/{finalized.pk}/credit-notes/",
            {"lines": [{"invoice_line_id": credited_line.pk, "amount": "1.00"}]},
            201,
        ),
        ("GET", "/api/v1/invoices/{id}/payments/"): Call(
            f"/api/v1/invoices/{finalized.pk}/payments/"
        ),
        ("POST", "/api/v1/invoices/{id}/payments/"): Call(
            f"/api/v1/invoices/{finalized.pk}/payments/",
            {"amount": "1.00", "paid_at": NOW.isoformat(), "reference": "perm-1"},
            201,
        ),
        ("POST", "/api/v1/payment-provider/{id}/events/"): Call(
            "/api/v1/payment-provider/acme-perm/events/", {"type": "payment.succeeded"}
        ),
        ("GET", "/api/v1/credit-notes/{id}/"): Call(
            f"/api/v1/credit-notes/{credit_note.pk}/"
        ),
        ("GET", "/api/v1/credit-notes/{id}/pdf/"): Call(
            f"/api/v1/credit-notes/{credit_note.pk}/pdf/"
        ),
        ("GET", "/api/v1/invoices/{id}/csv/"): Call(
            f"/api/v1/invoices/{finalized.pk}/csv/"
        ),
        ("POST", "/api/v1/invoices/{id}/finalize/"): Call(
            f"/api/v1/invoices/{draft.pk}/finalize/", {}
        ),
        ("POST", "/api/v1/invoices/{id}/mark-paid/"): Call(
            f"/api/v1/invoices/{finalized.pk}/mark-paid/", {}
        ),
        ("GET", "/api/v1/invoices/{id}/pdf/"): Call(
            f"/api/v1/invoices/{finalized.pk}/pdf/"
        ),
        ("POST", "/api/v1/invoices/{id}/void/"): Call(
            f"/api/v1/invoices/{finalized.pk}/void/", {"reason": "duplicate"}
        ),
        ("POST", "/api/v1/metrics/batch/"): Call(
            "/api/v1/metrics/batch/",
            {
                "metrics": [
                    {
                        "customer_id": "acme-1",
                        "resource": "cpu",
                        "timestamp": (NOW - timedelta(hours=1)).isoformat(),
                        "value": 1.5,
                    }
                ]
            },
            201,
        ),
        ("GET", "/api/v1/operation-prices/"): Call("/api/v1/operation-prices/"),
        ("POST", "/api/v1/operation-prices/"): Call(
            "/api/v1/operation-prices/",
            {"operation": "image.crop", "unit_price": "0.02"},
            201,
        ),
        ("GET", "/api/v1/provider-charges/"): Call("/api/v1/provider-charges/"),
        ("POST", "/api/v1/provider-charges/"): Call(
            "/api/v1/provider-charges/",
            {
                "customer_id": "acme-1",
                "provider": "Twilio",
                "period": "2026-06",
                "amount": "1.00",
                "description": "SMS",
            },
            201,
        ),
        ("GET", "/api/v1/recommendations/"): Call("/api/v1/recommendations/"),
        ("POST", "/api/v1/recommendations/{id}/approve/"): Call(
            f"/api/v1/recommendations/{recommendation.pk}/approve/", {}
        ),
        ("POST", "/api/v1/recommendations/{id}/reject/"): Call(
            f"/api/v1/recommendations/{recommendation.pk}/reject/", {}
        ),
        ("GET", "/api/v1/segments/"): Call("/api/v1/segments/"),
        ("GET", "/api/v1/subscriptions/"): Call("/api/v1/subscriptions/"),
        ("POST", "/api/v1/subscriptions/"): Call(
            "/api/v1/subscriptions/",
            {
                "customer_id": "acme-3-unknown",
                "billing_model_id": model.pk,
                "agents": 1,
                "starts_at": "2026-07-01T00:00:00+00:00",
            },
            201,
        ),
    }
    # A customer with nothing yet: subscribed, or deleted, by the calls above.
    CustomerFactory(organization=acme, external_id="acme-3-unknown")
    every = _permissions(view_only=False)
    clients = {role: Client(raise_request_exception=False) for role in ROLES}
    clients[PORTAL].force_login(PortalUserFactory(customer=customer).user)
    clients[STAFF_NONE].force_login(_staff(acme))
    clients[STAFF_OTHER].force_login(_staff(other, every))
    clients[STAFF_VIEW].force_login(_staff(acme, _permissions(view_only=True)))
    clients[STAFF_ALL].force_login(_staff(acme, every))
    headers = {role: {} for role in ROLES}
    for role in (STAFF_NONE, STAFF_OTHER, STAFF_VIEW, STAFF_ALL):
        headers[role] = {"HTTP_X_ORGANIZATION": "acme-perm"}
    for role, organization in ((OTHER_KEY, other), (OWN_KEY, acme)):
        raw = api_key_create(organization=organization, name=role).raw_key
        headers[role] = {"HTTP_AUTHORIZATION": f"Api-Key {raw}"}
    return {
        "calls": calls,
        "clients": clients,
        "headers": headers,
        "objects": {
            "run": run,
            "segment": segment,
            "customer": customer,
            "model": model,
            "recommendation": recommendation,
        },  # fmt: skip
    }


# Operations authenticated by a signature instead of a key or a login: unsigned,
# every caller is refused alike.
SIGNED = {"/api/v1/payment-provider/{id}/events/"}


def _expected(role: str, method: str, path: str, call: Call) -> int:
    if path in SIGNED:
        return 401
    if role == ANONYMOUS:
        return 401
    if role in (PORTAL, STAFF_NONE, STAFF_OTHER):
        return 403
    if role == OTHER_KEY:
        # Nothing of the organization exists for another one's key: a path naming
        # one of its objects is a 404; a collection is the key's own (empty) one,
        # and a write naming this organization's customer refers to nothing.
        if "{" in path:
            return 404
        return 200 if method == "GET" else OTHER_KEY_WRITES[path]
    if role == STAFF_VIEW and method != "GET" and path not in READING_POSTS:
        return 403
    return call.success


# What another organization's key gets from the collection writes above: the
# customer and billing model they name are not its own.
OTHER_KEY_WRITES = {
    "/api/v1/billing-models/": 201,  # created in the key's own organization
    "/api/v1/bundle-templates/": 201,  # likewise
    "/api/v1/customers/": 201,  # likewise
    "/api/v1/coupons/": 201,  # likewise
    "/api/v1/tax-rates/": 201,  # likewise
    "/api/v1/operation-prices/": 201,  # likewise
    "/api/v1/events/": 400,  # unknown customer
    "/api/v1/events/batch/": 200,  # the batch answers; the event is rejected
    "/api/v1/metrics/batch/": 400,  # unknown customer
    "/api/v1/provider-charges/": 400,  # unknown customer
    "/api/v1/subscriptions/": 400,  # unknown customer
}


def _send(client, method, call, headers):
    if call.body is None:
        return client.generic(method, call.url, **headers)
    return client.generic(
        method,
        call.url,
        json.dumps(call.body),
        content_type="application/json",
        **headers,
    )


def test_every_operation_answers_each_role_exactly(world):
    assert sorted(world["calls"]) == sorted(OPERATIONS)
    mismatches, requests = [], 0
    for method, path in OPERATIONS:
        call = world["calls"][(method, path)]
        for role in ROLES:
            with transaction.atomic():
                before = row_counts()
                response = _send(
                    world["clients"][role], method, call, world["headers"][role]
                )
                after = row_counts()
                transaction.set_rollback(True)
            requests += 1
            expected = _expected(role, method, path, call)
            if response.status_code != expected:
                mismatches.append(
                    f"{method} {path} {role}: {response.status_code} (expected"
                    f" {expected}) {response.content[:200]!r}"
                )
            if response.status_code >= 400 and after != before:
                mismatches.append(
                    f"{method} {path} {role}: refused with"
                    f" {response.status_code} but wrote"
                )
    print(f"{len(OPERATIONS)} operations x {len(ROLES)} roles = {requests} requests")
    assert not mismatches, "\n".join(mismatches)


def test_deleting_a_billing_model_with_subscriptions_is_a_conflict(world):
    model = world["objects"]["model"]
    client = world["clients"][OWN_KEY]
    response = client.delete(
        f"/api/v1/billing-models/{model.pk}/", **world["headers"][OWN_KEY]
    )
    assert response.status_code == 409
    assert response.json() == {
        "errors": {"detail": ["Cannot delete: 2 subscriptions still refer to it."]}
    }
    assert model.__class__.objects.filter(pk=model.pk).exists()


# Staff pages ------------------------------------------------------------------

STAFF_PAGE_PERMISSIONS = {
    "/staff/live-usage/": "metering.view_usageevent",
    "/staff/live-usage/data/": "metering.view_usageevent",
    "/staff/pricing/calculator/": "pricing.view_billingmodel",
    "/staff/pricing/reports/tier-utilisation/": "pricing.view_billingmodel",
    "/staff/pricing/reports/bpo-comparison/": "pricing.view_billingmodel",
    "/staff/profiling/": "profiling.view_profilingrun",
    "/staff/profiling/runs/{run}/": "profiling.view_profilingrun",
    "/staff/profiling/segments/{segment}/": "profiling.view_profilingrun",
    "/staff/profiling/customers/{customer}/": "profiling.view_profilingrun",
    "/staff/scaling/": "scaling.view_forecast",
    "/staff/scaling/recommendations/{recommendation}/{decision}/": (
        "scaling.decide_recommendation"
    ),
}


def test_every_staff_page_is_in_the_matrix():
    from django.urls import get_resolver

    staff = get_resolver().url_patterns
    mounted = next(p for p in staff if str(p.pattern) == "staff/")
    routes = {
        "/staff/" + str(p.pattern).replace("<int:run_id>", "{run}")
        .replace("<int:segment_id>", "{segment}")
        .replace("<int:customer_id>", "{customer}")
        .replace("<int:pk>/<str:decision>", "{recommendation}/{decision}")
        for p in mounted.url_patterns
    }  # fmt: skip
    assert routes == set(STAFF_PAGE_PERMISSIONS)


def _page_expected(role: str, path: str) -> int:
    if role in (ANONYMOUS, OTHER_KEY, OWN_KEY, PORTAL):
        return 302  # to the admin's login
    if role == STAFF_NONE:
        return 403
    if role == STAFF_OTHER and "{" in path:
        return 404  # another organization's run, segment, customer or recommendation
    if role == STAFF_VIEW and ".view_" not in STAFF_PAGE_PERMISSIONS[path]:
        return 403  # a page that decides
    return 200


def test_every_staff_page_answers_each_role_exactly(world):
    objects = world["objects"]
    ids = {
        "run": objects["run"].pk,
        "segment": objects["segment"].pk,
        "customer": objects["customer"].pk,
        "recommendation": objects["recommendation"].pk,
        "decision": "approve",
    }
    mismatches, naming = [], []
    for template in STAFF_PAGE_PERMISSIONS:
        url = template.format(**ids)
        shown = {}
        for role in ROLES:
            response = world["clients"][role].get(url, **world["headers"][role])
            expected = _page_expected(role, template)
            if response.status_code != expected:
                mismatches.append(f"{url} {role}: {response.status_code} ({expected})")
            if response.status_code == 302 and not response.url.startswith(
                "/admin/login/"
            ):
                mismatches.append(f"{url} {role}: redirected to {response.url}")
            shown[role] = ACME in response.content.decode()
        if shown[STAFF_OTHER]:
            mismatches.append(f"{url}: staff of another organization see {ACME}")
        if shown[STAFF_VIEW]:
            naming.append(template)
    # The lists name the organization to its own staff (so the check above is
    # not vacuous).
    assert naming == ["/staff/live-usage/", "/staff/pricing/calculator/",
                      "/staff/profiling/", "/staff/scaling/"]  # fmt: skip
    assert not mismatches, "\n".join(mismatches)


def test_staff_page_permission_is_the_one_named(world):
    """A staff member holding only a page's permission opens it; without it, 403."""
    ids = {
        "run": world["objects"]["run"].pk,
        "segment": world["objects"]["segment"].pk,
        "customer": world["objects"]["customer"].pk,
        "recommendation": world["objects"]["recommendation"].pk,
        "decision": "reject",
    }
    acme = world["objects"]["customer"].organization
    for template, codename in STAFF_PAGE_PERMISSIONS.items():
        app_label, name = codename.split(".")
        holder = _staff(
            acme,
            Permission.objects.filter(content_type__app_label=app_label, codename=name),
        )
        client = Client()
        client.force_login(holder)
        assert client.get(template.format(**ids)).status_code == 200, template
