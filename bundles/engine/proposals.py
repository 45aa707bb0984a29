"""Proposals for one customer (template-based or algorithmic only, both under
the never-pay-more rule) and the reasons shown with them."""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction

from bundles.engine._common import _scaler, _to_decimal, scale_counts
from bundles.engine.combining import _algorithmic_line, _capped, _worth_it, combine
from bundles.engine.matching import match_templates
from bundles.engine.pricing import predicted_total_cost, price_bundle
from bundles.engine.types import (
    ALGORITHMIC,
    BundleLine,
    CustomerSignals,
    EngineSettings,
    Match,
    Proposal,
    TemplateSpec,
)


def propose_bundle(
    signals: CustomerSignals,
    templates: Iterable[TemplateSpec],
    prices: Mapping[str, Decimal],
    settings: EngineSettings,
) -> Proposal | None:
    """The personalised bundle for one customer, or None when none is worth offering.

    None when no template matches, when no line has a price, or when the price is
    not strictly below the predicted pay-per-operation cost of the use it covers
    (the never-pay-more rule: the customer is never offered a bundle that makes
    them pay more for what they are predicted to use).
    """
    scaled = _scaler(signals)
    matches = match_templates(signals, templates, settings.threshold, scaled)
    merged, lines = combine(matches, signals, prices, settings, scaled)
    if not lines:
        return None
    best = merged[0].template
    return _proposal(
        scaled(best.validity_seconds),
        merged,
        lines,
        prices,
        settings,
        best.validity,
        best.validity_seconds,
    )


def propose_algorithmic(
    signals: CustomerSignals,
    operations: Iterable[str],
    prices: Mapping[str, Decimal],
    settings: EngineSettings,
    validity: str,
    validity_seconds: int,
) -> Proposal | None:
    """A bundle of algorithmic lines only, for the given predicted operations.

    Same pricing and never-pay-more rule as ``propose_bundle``.
    """
    predicted = scale_counts(
        signals.predicted_counts,
        from_seconds=signals.horizon_seconds,
        to_seconds=validity_seconds,
    )
    candidates = (
        _algorithmic_line(operation, predicted[operation], prices, settings)
        for operation in sorted(set(operations))
        if operation in predicted and operation in prices
    )
    lines = _capped(
        (line for line in candidates if _worth_it(line, settings)),
        settings.max_lines,
    )
    if not lines:
        return None
    return _proposal(predicted, (), lines, prices, settings, validity, validity_seconds)


def _proposal(
    predicted: Mapping[str, Decimal],
    matches: tuple[Match, ...],
    lines: tuple[BundleLine, ...],
    prices: Mapping[str, Decimal],
    settings: EngineSettings,
    validity: str,
    validity_seconds: int,
) -> Proposal | None:
    priced = price_bundle(lines, settings)
    if not priced.never_pay_more:
        return None
    return Proposal(
        matches=matches,
        validity=validity,
        validity_seconds=validity_seconds,
        lines=priced.lines,
        list_value=priced.list_value,
        discount=priced.discount,
        upsell=priced.upsell,
        price=priced.price,
        predicted_cost=priced.predicted_cost,
        expected_saving=priced.expected_saving,
        predicted_total_cost=predicted_total_cost(predicted, prices, settings.currency),
    )


def score_text(score: Fraction) -> str:
    """A score shown to three decimals."""
    return f"{_to_decimal(score):.3f}"


def reasons_for(proposal: Proposal, signals: CustomerSignals) -> dict:
    """Why the bundle was built, as JSON-ready values (strings for decimals)."""
    return {
        "templates": [
            {
                "name": match.template.name,
                "score": score_text(match.score),
                "coverage": score_text(match.coverage),
                "tags": list(match.matched_tags),
                "segment": match.matched_segment,
            }
            for match in proposal.matches
        ],
        "segment": signals.segment,
        "predictions": {
            line.operation: f"{line.predicted_quantity:.2f}" for line in proposal.lines
        },
        "algorithmic_lines": [
            line.operation for line in proposal.lines if line.source == ALGORITHMIC
        ],
        "predicted_cost": str(proposal.predicted_cost),
        "predicted_total_cost": str(proposal.predicted_total_cost),
        "expected_saving": str(proposal.expected_saving),
    }
