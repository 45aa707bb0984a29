"""Recommendation maths: bundle prices, the weighted bundle choice, confidence from
backtest scores, and the cost/benefit of a change.

Pure computation, no ORM. Resource quantities are floats (measurements); money is
``Decimal`` and is rounded once per final figure with ``quantize_money``.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from billing_site.money import quantize_money

Z_80 = 1.2815515655446004  # standard normal quantile of 0.90


@dataclass(frozen=True)
class BundleOption:
    key: int
    name: str
    capacities: dict  # resource -> units per step (float)
    monthly_price: Decimal
    features: frozenset = frozenset()


@dataclass(frozen=True)
class ScoringWeights:
    coverage: float = 0.45
    headroom: float = 0.20
    cost: float = 0.25
    features: float = 0.10
    target_headroom: float = 0.25  # spare capacity wanted above the predicted peak


@dataclass(frozen=True)
class BundleScore:
    bundle: BundleOption
    score: float
    covers_all: bool
    coverage: float
    headroom: float
    cost: float
    features: float


def bundle_monthly_price(
    *, base_price: Decimal, capacities: list[tuple[Decimal, Decimal]], currency: str
) -> Decimal:
    """Base price plus capacity x unit price for each resource, rounded once."""
    total = base_price + sum(
        (capacity * unit_price for capacity, unit_price in capacities), Decimal(0)
    )
    return quantize_money(total, currency)


def score_bundles(
    *,
    needs: dict,
    bundles: list[BundleOption],
    wanted_features: frozenset = frozenset(),
    weights: ScoringWeights = ScoringWeights(),
) -> list[BundleScore]:
    """Score each bundle against the predicted needs (peak at the upper 95 % bound).

    Per resource with need ``d`` and capacity ``c`` (0 when the bundle lacks it):
    fit = min(1, c/d); headroom h = (c-d)/c scores 1 - |h - target| / (1 - target)
    (0 when c < d). Components, each in [0, 1], averaged over the needed resources:
    coverage (mean fit), headroom, cost (cheapest price / this price) and features
    (share of the wanted features included). The score is the weighted sum.
    """
    if not bundles:
        return []
    cheapest = min(bundle.monthly_price for bundle in bundles)
    scored = []
    for bundle in bundles:
        fits, headrooms = [], []
        for resource, need in needs.items():
            capacity = float(bundle.capacities.get(resource, 0.0))
            if need <= 0:
                fits.append(1.0)
                headrooms.append(1.0 if capacity > 0 else 0.0)
                continue
            fits.append(min(1.0, capacity / need))
            if capacity >= need:
                spare = (capacity - need) / capacity
                distance = abs(spare - weights.target_headroom)
                headrooms.append(max(0.0, 1 - distance / (1 - weights.target_headroom)))
            else:
                headrooms.append(0.0)
        coverage = float(np.mean(fits)) if fits else 1.0
        headroom = float(np.mean(headrooms)) if headrooms else 1.0
        if bundle.monthly_price > 0:
            cost = float(cheapest / bundle.monthly_price)
        else:
            cost = 1.0
        features = (
            len(wanted_features & bundle.features) / len(wanted_features)
            if wanted_features
            else 1.0
        )
        score = (
            weights.coverage * coverage
            + weights.headroom * headroom
            + weights.cost * cost
            + weights.features * features
        )
        scored.append(
            BundleScore(
                bundle=bundle,
                score=score,
                covers_all=all(fit >= 1.0 for fit in fits),
                coverage=coverage,
                headroom=headroom,
                cost=cost,
                features=features,
            )
        )
    return scored


def find_best_bundle(
    *,
    needs: dict,
    bundles: list[BundleOption],
    wanted_features: frozenset = frozenset(),
    weights: ScoringWeights = ScoringWeights(),
) -> BundleOption | None:
    """The highest-scoring bundle (see ``score_bundles``).

    When some bundle covers every need, only such bundles compete: a cheap bundle that
    saturates is never preferred to one that fits; when none fits, only those with
    the highest coverage compete. Ties go to the lower price, then
    the name.
    """
    scored = score_bundles(
        needs=needs, bundles=bundles, wanted_features=wanted_features, weights=weights
    )
    if not scored:
        return None
    if any(item.covers_all for item in scored):
        scored = [item for item in scored if item.covers_all]
    else:
        widest = max(round(item.coverage, 9) for item in scored)
        scored = [item for item in scored if round(item.coverage, 9) == widest]
    best = min(
        scored,
        key=lambda item: (
            -round(item.score, 9),
            item.bundle.monthly_price,
            item.bundle.name,
        ),
    )
    return best.bundle


def forecast_confidence(
    *,
    mase: float,
    baseline_mase: float,
    smape: float,
    coverage_80: float | None,
    coverage_95: float | None,
) -> float:
    """Confidence in [0, 1] from the forecast's measured backtest scores.

    confidence = accuracy x skill x calibration, where
    accuracy = 1 - min(sMAPE, 100) / 100 (sMAPE in percent),
    skill = min(1, baseline MASE / MASE) (1 when at least as good as seasonal naive),
    calibration = max(0, 1 - 2 x max(|cov80 - 0.80|, |cov95 - 0.95|)), 0.5 when no
    coverage could be measured. A forecast 10 points off nominal coverage loses 20 %.
    """
    accuracy = 1 - min(max(smape, 0.0), 100.0) / 100
    skill = min(1.0, baseline_mase / mase) if mase > 0 else 1.0
    if coverage_80 is None or coverage_95 is None:
        calibration = 0.5
    else:
        gap = max(abs(coverage_80 - 0.80), abs(coverage_95 - 0.95))
        calibration = max(0.0, 1 - 2 * gap)
    return max(0.0, min(1.0, accuracy * skill * calibration))


def expected_excess(
    *, yhat: np.ndarray, lower_80: np.ndarray, upper_80: np.ndarray, limit: float
) -> float:
    """Expected demand above ``limit`` summed over the points, units.

    Demand at each point is taken as normal with mean ``yhat`` and the spread implied
    by the 80 % band: sigma = (upper - lower) / (2 z_0.9). E[max(0, D - limit)] =
    (mu - limit) Phi(z) + sigma phi(z), z = (mu - limit) / sigma.
    """
    total = 0.0
    for mu, low, high in zip(yhat, lower_80, upper_80, strict=True):
        sigma = max(0.0, (high - low) / (2 * Z_80))
        gap = mu - limit
        if sigma <= 0:
            total += max(0.0, gap)
            continue
        z = gap / sigma
        cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
        pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        total += gap * cdf + sigma * pdf
    return total


@dataclass(frozen=True)
class CostBenefit:
    upgrade_cost: Decimal
    revenue_at_risk_current: Decimal
    revenue_at_risk_recommended: Decimal
    net_benefit: Decimal


def units_to_decimal(units: float) -> Decimal:
    """A measured quantity as Decimal, through its 6-decimal text."""
    return Decimal(f"{units:.6f}")


def cost_benefit(
    *,
    forecasts: dict,
    current_capacities: dict,
    recommended_capacities: dict,
    saturation_utilisation: float,
    revenue_per_unit: Decimal,
    current_price: Decimal,
    recommended_price: Decimal,
    horizon_seconds: int,
    currency: str,
) -> CostBenefit:
    """Cost of the change over the horizon against the revenue it protects.

    ``forecasts``: resource -> (yhat, lower_80, upper_80) arrays. Revenue at risk on
    a bundle = revenue per unit x expected demand above saturation (capacity x
    ``saturation_utilisation``) over the horizon, summed over resources; a resource
    the bundle lacks saturates at 0. Upgrade cost = monthly price difference x
    horizon / 30 days. Each of the three is rounded once; net benefit is computed
    from the rounded figures, so the breakdown adds up to it.
    """

    def at_risk(capacities: dict) -> Decimal:
        units = sum(
            expected_excess(
                yhat=yhat,
                lower_80=lower,
                upper_80=upper,
                limit=float(capacities.get(resource, 0.0)) * saturation_utilisation,
            )
            for resource, (yhat, lower, upper) in forecasts.items()
        )
        return quantize_money(revenue_per_unit * units_to_decimal(units), currency)

    month_seconds = Decimal(30 * 86_400)
    upgrade_cost = quantize_money(
        (recommended_price - current_price) * Decimal(horizon_seconds) / month_seconds,
        currency,
    )
    risk_current = at_risk(current_capacities)
    risk_recommended = at_risk(recommended_capacities)
    return CostBenefit(
        upgrade_cost=upgrade_cost,
        revenue_at_risk_current=risk_current,
        revenue_at_risk_recommended=risk_recommended,
        net_benefit=risk_current - risk_recommended - upgrade_cost,
    )


def sustained_low_utilisation(
    *, recent_peaks: dict, capacities: dict, threshold: float = 0.4
) -> bool:
    """True when every resource's recent peak stayed below ``threshold`` of capacity
    (the only case in which a downgrade is proposed)."""
    if not recent_peaks:
        return False
    for resource, peak in recent_peaks.items():
        capacity = float(capacities.get(resource, 0.0))
        if capacity <= 0 or peak >= threshold * capacity:
            return False
    return True
