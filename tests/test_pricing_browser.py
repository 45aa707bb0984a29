"""The pricing cost calculator, driven in a real browser: its live figures must be
the server engine's, line by line."""

from decimal import Decimal

import pytest

from metering.tests.factories import OrganizationFactory, UserFactory
from pricing import engine, selectors, services
from pricing.services import ActivitySpec, BillingModelSpec, TierSpec

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
D = Decimal


def login(page, live_server) -> None:
    admin = UserFactory(staff=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def shown_breakdown(page) -> dict[str, Decimal]:
    page.wait_for_selector("#pricing-calculator[data-state]")
    rows = page.eval_on_selector_all(
        "[data-calc-breakdown] tr",
        "rows => rows.map(r => [r.dataset.key, r.cells[1].textContent])",
    )
    total = page.inner_text("[data-calc-total]")
    return {**{key: D(amount) for key, amount in rows}, "total": D(total)}


def set_inputs(page, agents: str, units: dict[str, str]) -> None:
    page.fill("[data-calc-agents]", agents)
    for activity_type, value in units.items():
        page.fill(f"[data-calc-units='{activity_type}']", value)


def test_calculator_matches_the_engine(live_server, page):
    organization = OrganizationFactory()
    gpt = services.billing_model_create(
        organization=organization,
        spec=BillingModelSpec(
            name="Token-Based AI Services",
            activities=(
                ActivitySpec(
                    activity_type="gpt_tokens",
                    price_per_unit=D("0.002"),
                    base_agent_fee=D("15.00"),
                    volume_pricing_enabled=True,
                    tiers=(
                        TierSpec(D(5000), D("0.0015")),
                        TierSpec(D(20000), D("0.001")),
                    ),
                    minimum_charge=D("10.00"),
                ),
            ),
        ),
    )
    odd = services.billing_model_create(
        organization=organization,
        spec=BillingModelSpec(
            name="Odd volume",
            activities=(
                ActivitySpec(
                    activity_type="minutes",
                    price_per_unit=D("0.00333333"),
                    base_agent_fee=D("0.50"),
                    volume_pricing_enabled=True,
                    tier_mode="volume",
                    tiers=(
                        TierSpec(D("12.5"), D("0.01234567"), D("1.25")),
                        TierSpec(D(1000), D("0.00555555"), D("2")),
                    ),
                    minimum_charge=D("3.00"),
                ),
            ),
        ),
    )
    login(page, live_server)

    page.goto(f"{live_server.url}/staff/pricing/calculator/?model={gpt.pk}")
    set_inputs(page, "2", {"gpt_tokens": "15000"})
    assert shown_breakdown(page) == {
        "base_agent_fee": D("30.00"),
        "tier_1_cost": D("7.50"),
        "tier_2_cost": D("10.00"),
        "total": D("47.50"),
    }
    gpt_pricing = selectors.billing_model_pricing(gpt)
    for agents, units in [("0", "0"), ("1", "5000"), ("3", "20000.5"),
                          ("0", "1234567.891"), ("7", "19999.999999")]:  # fmt: skip
        set_inputs(page, agents, {"gpt_tokens": units})
        expected = engine.calculate_model_cost(gpt_pricing, D(units), int(agents))
        assert shown_breakdown(page) == expected.breakdown, (agents, units)
    set_inputs(page, "0", {"gpt_tokens": "100"})
    assert shown_breakdown(page)["minimum_charge_adjustment"] == D("9.85")
    assert page.is_visible("[data-calc-minimum]")

    page.goto(f"{live_server.url}/staff/pricing/calculator/?model={odd.pk}")
    odd_pricing = selectors.billing_model_pricing(odd)
    for agents, units in [("1", "0"), ("0", "12.5"), ("2", "12.500001"),
                          ("1", "999.999"), ("3", "5000.123456")]:  # fmt: skip
        set_inputs(page, agents, {"minutes": units})
        expected = engine.calculate_model_cost(odd_pricing, D(units), int(agents))
        assert shown_breakdown(page) == expected.breakdown, (agents, units)

    set_inputs(page, "1.5", {"minutes": "-3"})
    page.wait_for_selector("#pricing-calculator[data-state=invalid]")
    assert page.inner_text("[data-calc-errors]") == (
        "Agents must be a whole number, 0 or more. Units (minutes) must be a "
        "number, 0 or more, with at most 6 decimals."
    )
    assert page.inner_text("[data-calc-total]") == "—"


def test_hybrid_calculator_on_the_admin_page_matches_the_engine(live_server, page):
    organization = OrganizationFactory()
    hybrid = services.billing_model_create(
        organization=organization,
        spec=BillingModelSpec(
            name="Platform plan",
            model_type="hybrid",
            subscription_fee=D("99.00"),
            activities=(
                ActivitySpec(activity_type="api_calls", price_per_unit=D("0.05")),
                ActivitySpec(
                    activity_type="tokens",
                    price_per_unit=D("0.0008"),
                    base_agent_fee=D("12.00"),
                    volume_pricing_enabled=True,
                    tiers=(TierSpec(D(50000), D("0.001")),),
                ),
            ),
        ),
    )
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/pricing/billingmodel/{hybrid.pk}/change/")
    pricing = selectors.billing_model_pricing(hybrid)
    for agents, calls, tokens in [("2", "100", "15000"), ("0", "0", "0"),
                                  ("5", "333", "75000.25")]:  # fmt: skip
        set_inputs(page, agents, {"api_calls": calls, "tokens": tokens})
        expected = engine.calculate_model_cost(
            pricing, {"api_calls": D(calls), "tokens": D(tokens)}, int(agents)
        )
        assert shown_breakdown(page) == expected.breakdown
