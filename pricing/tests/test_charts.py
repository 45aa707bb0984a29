from decimal import Decimal as D

from pricing import charts
from pricing.selectors import BpoComparison


def test_bpo_comparison_labels_are_readable():
    rows = [
        BpoComparison(
            billing_model="Advanced Token Billing",
            our_cost=D("37.00"),
            agents=2,
            units_per_agent=D(12500),
            bpo_cost=D("1800.00"),
            savings_percent=98,
        )
    ]
    figure = charts.bpo_comparison_figure(rows, currency="USD")
    assert list(figure.data[0].text) == ["saves 98%"]
    assert figure.data[0].textfont.size == 12
    assert figure.layout.uniformtext.minsize == 12
    assert figure.layout.uniformtext.mode == "show"
    assert figure.layout.font.size == 12
    assert figure.layout.yaxis.title.text == "cost per month (USD)"
