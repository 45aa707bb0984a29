"""Template previews: which customers a template would be offered to, at what
price."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bundles import engine
from bundles.models import BundleTemplate
from bundles.selectors.prices import customer_price_overrides, list_prices
from bundles.selectors.settings import bundle_settings_for, engine_settings_for
from bundles.selectors.signals import customer_signals
from bundles.selectors.templates import template_spec
from metering.models import Customer


@dataclass(frozen=True)
class PreviewRow:
    customer_id: int
    customer: str
    score: str
    price: Decimal
    list_value: Decimal
    expected_saving: Decimal
    operations: tuple[str, ...]


def template_preview(
    *,
    template: BundleTemplate,
    now: dt.datetime,
    limit: int = 200,
    lines: Sequence[tuple[str, Decimal | None]] | None = None,
) -> dict:
    """Which customers would be offered this template alone, and at what price.

    Active or not, the template is matched against every profiled customer with the
    organization's settings; rows are ordered by expected saving, best first. An
    unsaved template (or unsaved edits of one) is previewed with its ``lines``.
    """
    organization = template.organization
    row = bundle_settings_for(organization=organization)
    settings = engine_settings_for(organization=organization)
    spec = template_spec(
        template=template, now=now, session_minutes=row.session_minutes, lines=lines
    )
    signals = customer_signals(organization=organization)
    prices = list_prices(organization=organization)
    overrides = customer_price_overrides(organization=organization)
    names = dict(
        Customer.objects.filter(
            organization=organization, pk__in=list(signals)
        ).values_list("pk", "name")
    )
    rows = []
    for customer_id, customer_signals_ in signals.items():
        customer_prices = {**prices, **overrides.get(customer_id, {})}
        proposal = engine.propose_bundle(
            customer_signals_, [spec], customer_prices, settings
        )
        if proposal is None:
            continue
        rows.append(
            PreviewRow(
                customer_id=customer_id,
                customer=names.get(customer_id, str(customer_id)),
                score=engine.score_text(proposal.matches[0].score),
                price=proposal.price,
                list_value=proposal.list_value,
                expected_saving=proposal.expected_saving,
                operations=tuple(line.operation for line in proposal.lines),
            )
        )
    rows.sort(key=lambda r: (-r.expected_saving, r.customer))
    return {
        "profiled": len(signals),
        "offered": len(rows),
        "rows": rows[:limit],
        "total_price": sum((r.price for r in rows), Decimal(0)),
    }
