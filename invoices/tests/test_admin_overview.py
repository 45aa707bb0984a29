"""The admin index's billing overview: last closed month's revenue and the queues,
over the staff member's organizations, each linking to its filtered change list."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import factory
import pytest
from django.urls import reverse

from invoices import selectors
from invoices.models import Invoice
from invoices.periods import MONTHLY, Period
from invoices.tests.factories import InvoiceFactory, staff_member
from metering.models import Organization
from metering.tests.factories import CustomerFactory, WebhookDeliveryFactory
from profiling.models import UNUSUAL_LABEL, CustomerProfile, ProfilingRun, Segment
from scaling.models import Recommendation
from scaling.tests.factories import FeatureBundleFactory

pytestmark = pytest.mark.django_db

# The overview's figures are those of May 2026, the month before this instant.
JUNE_2026 = "2026-06-17T09:30:00+00:00"


class RecommendationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recommendation

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    recommended_bundle = factory.SubFactory(
        FeatureBundleFactory, organization=factory.SelfAttribute("..organization")
    )
    direction = "upgrade"
    confidence = 0.9
    horizon_days = 30
    currency = "USD"
    upgrade_cost = Decimal("10.00")
    revenue_at_risk_current = Decimal("30.00")
    revenue_at_risk_recommended = Decimal("5.00")
    net_benefit = Decimal("15.00")


@pytest.fixture
def overview_data(organization, other_organization):
    """May 2026 (the month before the pinned clock's June) for ``organization``,
    with noise around it and in ``other_organization``."""
    may, april, june = date(2026, 5, 1), date(2026, 4, 1), date(2026, 6, 1)

    def monthly(start: date, **kwargs) -> Invoice:
        return InvoiceFactory(
            customer__organization=kwargs.pop("org", organization),
            period_start=start,
            period_end=Period(MONTHLY, start).end,
            **kwargs,
        )

    monthly(may, finalized=True, total=Decimal("100.00"))
    monthly(may, paid=True, total=Decimal("20.50"))
    monthly(may, paid=True, total=Decimal("7.25"), currency="EUR")
    InvoiceFactory(
        customer__organization=organization, frequency="daily",
        period_start=date(2026, 5, 31), period_end=date(2026, 5, 31),
        finalized=True, total=Decimal("1.10"),
    )  # fmt: skip
    monthly(may, total=Decimal("999.00"))  # draft
    monthly(june, total=Decimal("5.00"))  # draft
    monthly(may, void=True, total=Decimal("50.00"))
    monthly(april, finalized=True, total=Decimal("30.00"))
    monthly(june, finalized=True, total=Decimal("40.00"))
    monthly(may, org=other_organization, finalized=True, total=Decimal("500.00"))
    monthly(may, org=other_organization)  # draft

    WebhookDeliveryFactory.create_batch(
        2, endpoint__organization=organization, status="failed"
    )
    WebhookDeliveryFactory(endpoint__organization=organization, status="delivered")
    WebhookDeliveryFactory(endpoint__organization=other_organization, status="failed")
    RecommendationFactory(customer__organization=organization)
    RecommendationFactory(customer__organization=organization, status="approved")
    RecommendationFactory(customer__organization=other_organization)


@pytest.mark.clock(JUNE_2026)
def test_overview_counts_the_members_organizations(
    organization, other_organization, overview_data, clock_start
):
    overview = selectors.billing_overview(
        organizations=Organization.objects.filter(pk=organization.pk),
        now=clock_start,
    )

    assert overview.month.label == "2026-05"
    assert overview.revenue == (
        selectors.Revenue(currency="EUR", amount=Decimal("7.25")),
        selectors.Revenue(currency="USD", amount=Decimal("121.60")),
    )
    assert (
        overview.drafts,
        overview.failed_webhooks,
        overview.pending_recommendations,
    ) == (2, 2, 1)


@pytest.mark.clock(JUNE_2026)
def test_admin_index_shows_the_overview_with_filtered_links(
    client, organization, overview_data
):
    client.force_login(
        staff_member(
            organization,
            "view_invoice",
            "view_webhookdelivery",
            "view_recommendation",
        )
    )

    response = client.get(reverse("admin:index"))

    content = response.content.decode()
    invoices = reverse("admin:invoices_invoice_changelist")
    expected = [
        (
            f"{invoices}?status__in=finalized%2Coverdue%2Cpaid&amp;"
            "period_start__gte=2026-05-01&amp;period_start__lte=2026-05-31",
            "Revenue 2026-05",
            "EUR 7.25<br>USD 121.60",
        ),
        (f"{invoices}?status__exact=draft", "Drafts awaiting finalization", "2"),
        (
            reverse("admin:metering_webhookdelivery_changelist")
            + "?status__exact=failed",
            "Failed webhook deliveries",
            "2",
        ),
        (
            reverse("admin:scaling_recommendation_changelist")
            + "?status__exact=pending",
            "Pending scaling recommendations",
            "1",
        ),
    ]
    for url, label, figure in expected:
        assert (
            f'<th scope="row"><a href="{url}">{label}</a></th>\n'
            f'            <td class="kpi">{figure}</td>'
        ) in content


@pytest.mark.clock(JUNE_2026)
def test_revenue_link_lists_exactly_the_counted_invoices(
    client, organization, overview_data
):
    client.force_login(staff_member(organization, "view_invoice"))

    response = client.get(
        reverse("admin:invoices_invoice_changelist")
        + "?status__in=finalized,overdue,paid"
        "&period_start__gte=2026-05-01&period_start__lte=2026-05-31"
    )

    listed = response.context["cl"].result_list
    assert sorted(invoice.total for invoice in listed) == [
        Decimal("1.10"),
        Decimal("7.25"),
        Decimal("20.50"),
        Decimal("100.00"),
    ]


def test_admin_index_hides_tiles_the_member_may_not_view(client, organization):
    client.force_login(staff_member(organization, "view_webhookdelivery"))

    content = client.get(reverse("admin:index")).content.decode()

    assert "Failed webhook deliveries" in content
    assert "Revenue" not in content
    assert "Drafts awaiting finalization" not in content
    assert "Pending scaling recommendations" not in content
    assert "Unusual customers" not in content


def _profiling_run(organization, *, finished_at, unusual, usual=()):
    """A succeeded profiling run whose unusual group holds ``unusual`` customers."""
    run = ProfilingRun.objects.create(
        organization=organization,
        status="succeeded",
        window_start=finished_at - timedelta(days=30),
        window_end=finished_at,
        finished_at=finished_at,
    )
    odd = Segment.objects.create(run=run, label=UNUSUAL_LABEL, name="Unusual")
    steady = Segment.objects.create(run=run, label=0, name="Steady")
    for customer in unusual:
        CustomerProfile.objects.create(run=run, customer=customer, segment=odd)
    for customer in usual:
        CustomerProfile.objects.create(run=run, customer=customer, segment=steady)
    return run


def test_unusual_customers_of_the_latest_runs_link_to_their_profiles(
    client, organization, other_organization
):
    june = datetime(2026, 6, 1, tzinfo=UTC)
    ada, bob, cy, dee = CustomerFactory.create_batch(4, organization=organization)
    _profiling_run(organization, finished_at=june, unusual=[ada, bob, cy])
    latest = _profiling_run(
        organization,
        finished_at=june + timedelta(days=7),
        unusual=[ada, bob],
        usual=[cy],
    )
    failed = _profiling_run(
        organization, finished_at=june + timedelta(days=8), unusual=[dee]
    )
    failed.status = "failed"
    failed.save()
    _profiling_run(
        other_organization,
        finished_at=june,
        unusual=[CustomerFactory(organization=other_organization)],
    )
    client.force_login(staff_member(organization, "view_customerprofile"))

    content = client.get(reverse("admin:index")).content.decode()
    url = reverse("admin:profiling_customerprofile_changelist") + "?unusual=latest"
    assert (
        f'<th scope="row"><a href="{url}">'
        "Unusual customers in the latest profiling run</a></th>\n"
        '            <td class="kpi">2</td>'
    ) in content

    listed = client.get(url).context["cl"].result_list
    assert sorted((p.run_id, p.customer.pk) for p in listed) == [
        (latest.pk, ada.pk),
        (latest.pk, bob.pk),
    ]
