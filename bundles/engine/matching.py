"""Matching templates to a customer: coverage, targeting and the score."""

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from fnmatch import fnmatchcase
from fractions import Fraction

from bundles.engine._common import _fraction, _scaler
from bundles.engine.types import CustomerSignals, Match, TemplateSpec


def _targeting(
    template: TemplateSpec, signals: CustomerSignals
) -> tuple[Fraction, tuple[str, ...], str | None]:
    total = sum(
        (_fraction(w) for w in template.target_tags.values()), Fraction(0)
    ) + sum((_fraction(w) for w in template.target_segments.values()), Fraction(0))
    if total <= 0:
        return Fraction(0), (), None
    matched = Fraction(0)
    matched_tags = []
    for pattern, weight in template.target_tags.items():
        scores = [
            min(Fraction(1), max(Fraction(0), _fraction(score)))
            for name, score in signals.tags.items()
            if fnmatchcase(name, pattern)
        ]
        if scores and max(scores) > 0:
            matched += _fraction(weight) * max(scores)
            matched_tags.extend(
                sorted(name for name in signals.tags if fnmatchcase(name, pattern))
            )
    segment = None
    if signals.segment is not None:
        for pattern, weight in template.target_segments.items():
            if fnmatchcase(signals.segment, pattern):
                matched += _fraction(weight)
                segment = signals.segment
    return matched / total, tuple(dict.fromkeys(matched_tags)), segment


def _coverage(template: TemplateSpec, predicted: Mapping[str, Decimal]) -> Fraction:
    if not template.lines:
        return Fraction(0)
    total = Fraction(0)
    for line in template.lines:
        used = predicted.get(line.operation, Decimal(0))
        if used <= 0:
            continue
        if (
            line.included_quantity is None
            or line.included_quantity <= 0
            or used >= line.included_quantity
        ):
            total += 1
        else:
            total += Fraction(used) / Fraction(line.included_quantity)
    return total / len(template.lines)


def match_templates(
    signals: CustomerSignals,
    templates: Iterable[TemplateSpec],
    threshold: Decimal,
    scaled: Callable[[int], dict[str, Decimal]] | None = None,
) -> list[Match]:
    """Templates scoring at least ``threshold``, best first.

    Coverage is the mean over the template's lines of the share of the included
    quantity the customer is predicted to use in the template's validity (1 for an
    unlimited line with any predicted use). Targeting is the weighted share of the
    template's target tags (weighted by the tag's score) and segments the customer
    has. A template with targets scores (targeting + coverage) / 2, one without
    scores its coverage. A template the customer is predicted not to use at all
    (coverage 0) never matches.
    """
    scaled = scaled or _scaler(signals)
    threshold = _fraction(threshold)
    matches = []
    for template in templates:
        coverage = _coverage(template, scaled(template.validity_seconds))
        if coverage <= 0:
            continue
        targeting, tags, segment = None, (), None
        if template.has_targets:
            targeting, tags, segment = _targeting(template, signals)
            score = (targeting + coverage) / 2
        else:
            score = coverage
        if score >= threshold:
            matches.append(Match(template, score, targeting, coverage, tags, segment))
    matches.sort(key=lambda m: (-m.score, m.template.validity_seconds, m.template.name))
    return matches
