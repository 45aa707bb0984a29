"""The engine's values: customer signals, template specs, settings, matches,
bundle lines and priced proposals (frozen dataclasses, no behaviour beyond
derived properties)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

TEMPLATE = "template"
ALGORITHMIC = "algorithmic"


@dataclass(frozen=True)
class CustomerSignals:
    """What the profiler says about one customer."""

    # Behavioral tag name -> score in [0, 1] (values outside are clamped).
    tags: Mapping[str, float | Decimal]
    # The customer's segment name, if the profiler assigned one.
    segment: str | None
    # Operation code -> expected count over the next ``horizon_seconds``.
    predicted_counts: Mapping[str, Decimal]
    horizon_seconds: int = 30 * 86_400


@dataclass(frozen=True)
class TemplateLine:
    operation: str
    # Operation units included; None means unlimited.
    included_quantity: Decimal | None


@dataclass(frozen=True)
class TemplateSpec:
    key: int | str
    name: str
    lines: tuple[TemplateLine, ...]
    # Percent off the list value of the included quantities (0..100) ...
    discount_percent: Decimal | None = None
    # ... or a fixed price for the template's included quantities.
    fixed_price: Decimal | None = None
    validity: str = "month"
    # Length of the validity, in seconds (the caller resolves months and sessions).
    validity_seconds: int = 30 * 86_400
    # Tag name and segment name patterns (fnmatch, e.g. "heavy:image.*",
    # "Image-heavy*") -> weight.
    target_tags: Mapping[str, Decimal] = field(default_factory=dict)
    target_segments: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def has_targets(self) -> bool:
        return bool(self.target_tags or self.target_segments)


@dataclass(frozen=True)
class EngineSettings:
    currency: str = "USD"
    # Minimum matching score in [0, 1].
    threshold: Decimal = Decimal("0.5")
    # Headroom added to predicted quantities of algorithmic lines, percent.
    quantity_margin_percent: Decimal = Decimal("10")
    # Most operation lines a bundle may hold.
    max_lines: int = 10
    # Added on top of the discounted value, percent.
    upsell_percent: Decimal = Decimal("5")
    # Discount of algorithmic lines (no template gives them one), percent.
    algorithmic_discount_percent: Decimal = Decimal("20")


@dataclass(frozen=True)
class Match:
    template: TemplateSpec
    score: Fraction
    targeting: Fraction | None
    coverage: Fraction
    matched_tags: tuple[str, ...]
    matched_segment: str | None


@dataclass(frozen=True)
class BundleLine:
    operation: str
    # None means unlimited.
    included_quantity: Decimal | None
    unit_price: Decimal
    # Predicted use over the bundle's validity (scaled from the horizon).
    predicted_quantity: Decimal
    source: str  # TEMPLATE or ALGORITHMIC
    template_key: int | str | None
    # Discount applied to this line, as a fraction of its list value.
    discount: Fraction

    @property
    def list_value(self) -> Decimal:
        """Included quantity x unit price; unlimited lines at the predicted quantity."""
        quantity = (
            self.predicted_quantity
            if self.included_quantity is None
            else self.included_quantity
        )
        return quantity * self.unit_price

    @property
    def covered_quantity(self) -> Decimal:
        """The predicted use this line covers."""
        if self.included_quantity is None:
            return self.predicted_quantity
        return min(self.predicted_quantity, self.included_quantity)


@dataclass(frozen=True)
class Proposal:
    """A priced bundle that passed the never-pay-more rule."""

    matches: tuple[Match, ...]
    validity: str
    validity_seconds: int
    lines: tuple[BundleLine, ...]
    list_value: Decimal
    discount: Decimal
    upsell: Decimal
    price: Decimal
    # What the customer would pay per operation for the predicted use it covers.
    predicted_cost: Decimal
    expected_saving: Decimal
    # Pay-per-operation cost of everything predicted (bundled or not), for reasons.
    predicted_total_cost: Decimal

    @property
    def template_keys(self) -> tuple:
        return tuple(match.template.key for match in self.matches)


@dataclass(frozen=True)
class Priced:
    lines: tuple[BundleLine, ...]
    list_value: Decimal
    discount: Decimal
    upsell: Decimal
    price: Decimal
    predicted_cost: Decimal
    expected_saving: Decimal

    @property
    def never_pay_more(self) -> bool:
        return self.price < self.predicted_cost
