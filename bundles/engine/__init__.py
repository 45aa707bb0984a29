"""The bundle engine: matching templates to a customer, combining them, pricing.

Pure calculation: plain values and dataclasses in and out, no ORM, no clock.

Quantities are ``Decimal`` operation units; prices are ``Decimal`` per unit in the
organization's currency. Scores are exact ``Fraction``s in [0, 1].

Predicted counts arrive for a horizon (``CustomerSignals.horizon_seconds``) and are
scaled linearly to each template's validity length before they are compared with
included quantities.

Money is rounded at three documented points only, in ``price_bundle``: the list value,
the discount and the upsell component are each quantized once with
``quantize_money``; the price is their exact sum (list - discount + upsell), so the
shown breakdown always adds up to the price. The predicted pay-per-operation cost of
the covered usage is quantized once, and the expected saving is the exact difference
of the two rounded figures.
"""

from bundles.engine._common import scale_counts
from bundles.engine.combining import combine
from bundles.engine.matching import match_templates
from bundles.engine.pricing import predicted_total_cost, price_bundle
from bundles.engine.proposals import (
    propose_algorithmic,
    propose_bundle,
    reasons_for,
    score_text,
)
from bundles.engine.types import (
    ALGORITHMIC,
    TEMPLATE,
    BundleLine,
    CustomerSignals,
    EngineSettings,
    Match,
    Priced,
    Proposal,
    TemplateLine,
    TemplateSpec,
)

__all__ = [
    "ALGORITHMIC",
    "BundleLine",
    "CustomerSignals",
    "EngineSettings",
    "Match",
    "Priced",
    "Proposal",
    "TEMPLATE",
    "TemplateLine",
    "TemplateSpec",
    "combine",
    "match_templates",
    "predicted_total_cost",
    "price_bundle",
    "propose_algorithmic",
    "propose_bundle",
    "reasons_for",
    "scale_counts",
    "score_text",
]
