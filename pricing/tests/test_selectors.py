from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from metering.models import Customer, Operation
from metering.tests.factories import (
    CustomerFactory,
    OperationFactory,
    usage_events_bulk_create,
)
from pricing import charts, engine, selectors, services
from pricing.models import BillingModel

pytestmark = pytest.mark.django_db

D = Decimal


def test_billing_model_pricing_is_the_engine_input(gpt_token_model):
    pricing = selectors.billing_model_pricing(
        selectors.billing_model_get(
            organization=gpt_token_model.organization, pk=gpt_token_model.pk
        )
    )
    assert pricing == engine.ModelPricing(
        model_type="activity",
        subscription_fee=D("0.00"),
        currency="USD",
        activities=(
            engine.ActivityPricing(
                activity_type="gpt_tokens",
                price_per_unit=D("0.002"),
                base_agent_fee=D("15.00"),
                volume_pricing_enabled=True,
                tier_mode="graduated",
                tiers=(
                    engine.Tier(D(5000), D("0.0015"), D("0")),
                    engine.Tier(D(20000), D("0.001"), D("0")),
                ),
                minimum_charge=D("10.00"),
                currency="USD",
            ),
        ),
    )
    assert engine.calculate_model_cost(pricing, 15000, 2).total == D("47.50")


def test_billing_model_get_is_404_for_another_organization(
    gpt_token_model, other_organization
):
    with pytest.raises(Http404):
        selectors.billing_model_get(
            organization=other_organization, pk=gpt_token_model.pk
        )
    with pytest.raises(Http404):
        selectors.billing_model_get(organization=other_organization, pk="abc")


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 14, 9, 0, tzinfo=UTC)


def _use(customer, *usage, when=OCTOBER):
    """Store ``(operation, quantity)`` events for ``customer`` through metering."""
    usage_events_bulk_create(
        customer=customer,
        events=[
            {"operation": operation, "quantity": D(quantity), "occurred_at": when}
            for operation, quantity in usage
        ],
        now=NOW,
    )


@pytest.fixture
def token_operations(organization):
    # "ai.complete" is a tokens operation by its activity type; "tokens" by its code
    # (blank activity type); "chat.reply" counts as gpt_tokens, not tokens.
    OperationFactory(
        organization=organization, code="ai.complete", activity_type="tokens"
    )
    OperationFactory(organization=organization, code="tokens")
    OperationFactory(
        organization=organization, code="chat.reply", activity_type="gpt_tokens"
    )


def test_last_period_is_the_previous_calendar_month():
    assert selectors.last_period_start(today=date(2026, 1, 15)) == date(2025, 12, 1)
    assert selectors.last_period_start(today=date(2026, 3, 31)) == date(2026, 2, 1)
    assert selectors.last_period_start(today=date(2026, 11, 1)) == date(2026, 10, 1)


def test_activity_usage_sums_the_activity_operations_per_customer(
    organization, other_organization, token_operations
):
    first, second = (CustomerFactory(organization=organization) for _ in range(2))
    _use(first, ("ai.complete", "1200.5"), ("tokens", "300"), ("chat.reply", "7"))
    _use(first, ("ai.complete", "99"), when=datetime(2026, 9, 30, 23, 59, tzinfo=UTC))
    _use(second, ("chat.reply", "50"))
    _use(CustomerFactory(organization=other_organization), ("tokens", "5"))
    rows = selectors.activity_usage_by_customer(
        organization=organization,
        activity_type="tokens",
        period_start=date(2026, 10, 1),
    )
    assert list(rows) == [{"customer": first.pk, "units": D("1500.500000")}]


def test_activity_usage_adds_each_operations_billable_quantity(
    organization, token_operations
):
    Operation.objects.filter(code="ai.complete").update(aggregation="max")
    OperationFactory(
        organization=organization,
        code="tokens.seat",
        activity_type="tokens",
        aggregation="unique_count",
        aggregation_property="user_id",
    )
    OperationFactory(
        organization=organization,
        code="tokens.plan",
        activity_type="tokens",
        aggregation="latest",
    )
    first, second = (CustomerFactory(organization=organization) for _ in range(2))
    _use(first, ("ai.complete", "1200.5"), ("ai.complete", "300"), ("tokens", "300"))
    _use(first, ("ai.complete", "99999"), when=datetime(2026, 11, 1, tzinfo=UTC))
    _use(second, ("tokens", "5"))
    usage_events_bulk_create(
        customer=second,
        events=[
            {"operation": "tokens.seat", "user_id": user, "occurred_at": OCTOBER}
            for user in ("u1", "u2", "u1")
        ]
        + [
            {"operation": "tokens.plan", "quantity": "40", "occurred_at": OCTOBER},
            {
                "operation": "tokens.plan",
                "quantity": "30",
                "occurred_at": datetime(2026, 10, 31, 23, tzinfo=UTC),
            },
        ],
        now=NOW,
    )
    rows = selectors.activity_usage_by_customer(
        organization=organization,
        activity_type="tokens",
        period_start=date(2026, 10, 1),
    )
    # first: the largest ai.complete (1,200.5) + 300 tokens; second: 5 tokens,
    # 2 distinct seat users and the last plan level, 30.
    assert sorted((row["customer"], row["units"]) for row in rows) == [
        (first.pk, D("1500.500000")),
        (second.pk, D("37.000000")),
    ]


def test_tier_utilisation_counts_customers_per_tier(
    organization, other_organization, seed_token_model, token_operations
):
    usages = [0, 500, 10000, 10001, 49999, 75000, 100000, 100001, 250000]
    customers = [CustomerFactory(organization=organization) for _ in usages]
    bottom, top = customers[1], customers[-1]
    for customer, units in zip(customers, usages, strict=True):
        half = units // 2
        _use(
            customer,
            ("ai.complete", half),
            ("tokens", units - half),
            ("chat.reply", 1_000_000),  # another activity does not count
        )
    _use(  # another month does not count
        CustomerFactory(organization=organization),
        ("tokens", 10),
        when=datetime(2026, 9, 30, 23, 59, tzinfo=UTC),
    )
    _use(CustomerFactory(organization=other_organization), ("tokens", 20))
    (config,) = selectors.tiered_activity_list(organization=organization)
    everyone = Customer.objects.values("pk")
    with CaptureQueriesContext(connection) as queries:
        rows = selectors.tier_utilisation(
            config=config, period_start=date(2026, 10, 1), customers=everyone
        )
    assert len(queries) == 2  # the operations' metrics, then the report
    assert [(row.label, row.customers, row.units) for row in rows] == [
        ("0-10k", 3, D(10500)),
        ("10k-50k", 2, D(60000)),
        ("50k-100k", 2, D(175000)),
        ("100k+", 2, D(350001)),
    ]
    # Only the customers asked about.
    rows = selectors.tier_utilisation(
        config=config,
        period_start=date(2026, 10, 1),
        customers=everyone.filter(pk__in=[top.pk, bottom.pk]),
    )
    assert [(row.customers, row.units) for row in rows] == [
        (1, D(500)), (0, D(0)), (0, D(0)), (1, D(250000)),
    ]  # fmt: skip


def test_tier_utilisation_without_usage_counts_nobody(seed_token_model):
    config = seed_token_model.activity_configs.get()
    rows = selectors.tier_utilisation(
        config=config,
        period_start=date(2026, 10, 1),
        customers=Customer.objects.values("pk"),
    )
    assert [(row.customers, row.units) for row in rows] == [(0, D(0))] * 4


def test_bpo_comparison_against_900_per_employee(seed_token_model, gpt_token_model):
    rows = selectors.bpo_comparison(
        billing_models=[seed_token_model, gpt_token_model],
        agents=2,
        units_per_agent=D(12500),
    )
    # 25,000 tokens / 2 agents: 37.00 (the seed's figure), and
    # 30.00 + 5,000 x 0.0015 + 15,000 x 0.0010 + 5,000 x 0.002 = 62.50.
    assert [(r.billing_model, r.our_cost, r.bpo_cost, r.verdict) for r in rows] == [
        ("Advanced Token Billing", D("37.00"), D("1800.00"), "saves 98%"),
        ("Token-Based AI Services", D("62.50"), D("1800.00"), "saves 97%"),
    ]
    figure = charts.bpo_comparison_figure(rows, currency="USD")
    assert [trace.name for trace in figure.data] == ["billing model", "BPO"]
    assert list(figure.data[0].y) == [D("37.00"), D("62.50")]
    assert list(figure.data[0].text) == ["saves 98%", "saves 97%"]


def test_bpo_comparison_says_when_it_costs_more(organization):
    model = services.billing_model_create(
        organization=organization,
        spec=services.BillingModelSpec(
            name="Seat",
            activities=(
                services.ActivitySpec("seats", D("0"), base_agent_fee=D("1000.00")),
            ),
        ),
    )
    model = BillingModel.objects.get(pk=model.pk)
    (row,) = selectors.bpo_comparison(
        billing_models=[model], agents=1, units_per_agent=D(0)
    )
    assert (row.our_cost, row.savings_percent, row.verdict) == (
        D("1000.00"), -11, "costs 11% more",
    )  # fmt: skip
