"""Pricing screens in a real browser: the billing model page's preview of its
unsaved form and the staff cost calculator both show the server engine's figures,
line by line, with labels in words."""

from decimal import Decimal

import pytest

from metering.tests.factories import OrganizationFactory, UserFactory
from pricing import engine, selectors, services
from pricing.models import PriceTier
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


def gpt_tokens_model(organization):
    """The seed's "Token-Based AI Services" model (2 agents, 15,000 tokens: 47.50)."""
    return services.billing_model_create(
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


def preview_total(page, total: str) -> None:
    page.wait_for_selector(f"#pricing-preview[data-state=ready][data-total='{total}']")


def no_empty_error_box(page) -> None:
    empty = page.eval_on_selector_all(
        ".errornote", "boxes => boxes.filter(b => !b.textContent.trim()).length"
    )
    assert empty == 0


def stored_prices(model) -> list[Decimal]:
    return list(
        PriceTier.objects.filter(config__billing_model=model)
        .order_by("position")
        .values_list("unit_price", flat=True)
    )


def test_billing_model_page_previews_unsaved_tiers_then_saves_them(live_server, page):
    model = gpt_tokens_model(OrganizationFactory())
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/pricing/billingmodel/{model.pk}/change/")
    page.fill("#preview-agents", "2")
    page.fill("#preview-units-0", "15000")
    preview_total(page, "47.50")
    rows = page.eval_on_selector_all(
        "#pricing-preview tbody tr",
        "rows => rows.map(r => Array.from(r.cells, c => c.textContent.trim()))",
    )
    assert rows == [
        ["Gpt tokens — base fee (2 agents at USD 15.00)", "2", "USD 30.00"],
        ["Gpt tokens — tier 1 (0–5,000 at 0.0015)", "5,000", "USD 7.50"],
        ["Gpt tokens — tier 2 (5,000–20,000 at 0.001)", "10,000", "USD 10.00"],
    ]

    # Tier 2 repriced in the form, not saved: the preview follows, the database
    # does not.
    page.fill("[name='activity_configs-0-tiers-1-unit_price']", "0.0012")
    preview_total(page, "49.50")
    assert page.inner_text("#pricing-preview tfoot [data-total]") == "USD 49.50"
    assert stored_prices(model) == [D("0.0015"), D("0.001")]
    no_empty_error_box(page)

    # A threshold below the previous one: the preview names the problem.
    page.fill("[name='activity_configs-0-tiers-1-up_to']", "4000")
    page.wait_for_selector("#pricing-preview[data-state=invalid]")
    assert "Activity 1, tier 2, up to: Must be greater than the previous tier's" in (
        page.inner_text("#pricing-preview [data-preview-errors]")
    )
    page.fill("[name='activity_configs-0-tiers-1-up_to']", "20000")
    preview_total(page, "49.50")
    assert page.inner_text("#pricing-preview [data-preview-errors]") == ""
    no_empty_error_box(page)

    # A third tier typed into a blank row, then Save: every tier is stored.
    page.fill("[name='activity_configs-0-tiers-2-up_to']", "50000")
    page.fill("[name='activity_configs-0-tiers-2-unit_price']", "0.0008")
    page.fill("#preview-units-0", "30000")
    # 30.00 + 7.50 + 15,000 x 0.0012 + 10,000 x 0.0008 = 30 + 7.50 + 18 + 8
    preview_total(page, "63.50")
    page.click("input[name=_save]")
    page.wait_for_selector("#changelist")
    assert list(
        PriceTier.objects.filter(config__billing_model=model)
        .order_by("position")
        .values_list("position", "up_to", "unit_price")
    ) == [
        (1, D(5000), D("0.0015")),
        (2, D(20000), D("0.0012")),
        (3, D(50000), D("0.0008")),
    ]
    expected = engine.calculate_model_cost(
        selectors.billing_model_pricing(model), D(30000), 2
    )
    assert expected.total == D("63.50")


def test_hybrid_preview_has_units_for_each_activity(live_server, page):
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
    assert page.inner_text("label[for=preview-units-0]") == "Units of api_calls"
    assert page.inner_text("label[for=preview-units-1]") == "Units of tokens"
    for agents, calls, tokens in [("2", "100", "15000"), ("5", "333", "75000.25")]:
        page.fill("#preview-agents", agents)
        page.fill("#preview-units-0", calls)
        page.fill("#preview-units-1", tokens)
        expected = engine.calculate_model_cost(
            pricing, {"api_calls": D(calls), "tokens": D(tokens)}, int(agents)
        )
        preview_total(page, f"{expected.total:f}")
        amounts = page.eval_on_selector_all(
            "#pricing-preview tbody tr",
            "rows => rows.map(r => [r.dataset.key, r.cells[2].dataset.amount])",
        )
        assert {key: D(amount) for key, amount in amounts} == {
            key: amount for key, amount in expected.breakdown.items() if key != "total"
        }

    # Another activity added in the form gets its own units box.
    page.click("#activity_configs-group .add-row a")
    page.wait_for_selector("#preview-units-2")
    page.fill("[name='activity_configs-2-activity_type']", "minutes")
    assert page.inner_text("label[for=preview-units-2]") == "Units of minutes"


def test_calculator_shows_the_engine_figures(live_server, page):
    gpt = gpt_tokens_model(OrganizationFactory())
    login(page, live_server)
    page.goto(f"{live_server.url}/staff/pricing/calculator/?model={gpt.pk}")
    page.fill("#calc-agents", "2")
    page.fill("#calc-units-0", "15000")
    page.wait_for_selector("#pricing-calculator [data-total='47.50']")
    assert page.inner_text("#pricing-calculator [data-total]") == "USD 47.50"
    assert page.inner_text("#pricing-calculator tbody tr:nth-child(3) td") == (
        "Gpt tokens — tier 2 (5,000–20,000 at 0.001)"
    )
    page.fill("#calc-units-0", "100")
    page.fill("#calc-agents", "0")
    page.wait_for_selector("#pricing-calculator [data-total='10.00']")
    assert "The minimum charge applies." in page.inner_text("#pricing-calculator")
    page.fill("#calc-agents", "1.5")
    page.wait_for_selector("#pricing-calculator[data-state=invalid]")
    assert page.inner_text("#pricing-calculator .errornote") == (
        "Agents: Enter a whole number."
    )
