"""Recommendations: generation from the latest forecasts, decisions, and applying them
through the account's provisioner (idempotently)."""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import transaction

from billing_site.errors import InvalidTransition
from metering.models import Customer, Organization, WebhookEvent
from metering.services import webhook_event_emit
from scaling import selectors
from scaling.models import Forecast, Recommendation
from scaling.recommending import (
    BundleOption,
    cost_benefit,
    find_best_bundle,
    forecast_confidence,
    sustained_low_utilisation,
)
from scaling.services.provisioning import entitlement_record, provisioner_for

logger = logging.getLogger(__name__)

# A downgrade needs every resource below this share of capacity over this window.
LOW_UTILISATION = 0.4
LOW_UTILISATION_WINDOW = timedelta(days=14)


def _enqueue_apply(recommendation_id: int) -> None:
    from scaling.tasks import recommendation_apply_task

    transaction.on_commit(lambda: recommendation_apply_task.delay(recommendation_id))


def _arrays(forecast: Forecast) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    points = forecast.points
    return (
        np.array([p["yhat"] for p in points], dtype=float),
        np.array([p["lower_80"] for p in points], dtype=float),
        np.array([p["upper_80"] for p in points], dtype=float),
    )


def _forecast_confidence(forecast: Forecast) -> float:
    return forecast_confidence(
        mase=forecast.mase or 0.0,
        baseline_mase=forecast.baseline_mase or 0.0,
        smape=forecast.smape if forecast.smape is not None else 100.0,
        coverage_80=forecast.coverage_80,
        coverage_95=forecast.coverage_95,
    )


@transaction.atomic
def recommendation_generate(
    *, customer: Customer, now: datetime
) -> Recommendation | None:
    """Compare the account's latest forecasts with its active bundle (the seed's
    ``analyzeAccount``).

    Needs per resource = the highest upper 95 % bound over the horizon, raised to any
    scheduled capacity floor in that window. The driving resource is the one with the
    highest need relative to the current capacity; the recommendation's confidence is
    its forecast's confidence (``forecast_confidence``). Below the policy's minimum
    confidence nothing is recommended and the fact is logged. A downgrade is proposed
    only after sustained low utilisation, and any change only when its net benefit
    over the horizon is positive. A new recommendation expires the pending one;
    an identical pending one is kept. Auto-approval applies when the policy opts in,
    the confidence reaches its threshold and the monthly increase fits its cap.
    """
    organization = customer.organization
    forecasts = [
        forecast
        for forecast in selectors.forecasts_latest_for_customer(customer=customer)
        if forecast.state == Forecast.State.OK and forecast.points
    ]
    if not forecasts:
        return None
    policy = selectors.policy_for(customer=customer)
    options = selectors.bundle_options(organization=organization)
    if not options:
        return None
    entitlement = selectors.entitlement_for(customer=customer)
    current: BundleOption | None = next(
        (o for o in options if entitlement and o.key == entitlement.bundle_id), None
    )
    horizon_end = max(
        datetime.fromisoformat(f.points[-1]["timestamp"]) for f in forecasts
    )
    floors = selectors.capacity_floors_for(
        customer=customer, start=now, end=horizon_end
    )
    needs = {}
    for forecast in forecasts:
        peak = max(point["upper_95"] for point in forecast.points)
        needs[forecast.resource] = max(peak, floors.get(forecast.resource, 0.0))

    def pressure(forecast: Forecast) -> float:
        capacity = current.capacities.get(forecast.resource, 0.0) if current else 0.0
        need = needs[forecast.resource]
        return need / capacity if capacity > 0 else float("inf") if need > 0 else 0.0

    driver = max(forecasts, key=lambda f: (pressure(f), f.resource))
    confidence = _forecast_confidence(driver)
    if confidence < policy.min_confidence:
        logger.info(
            "Low confidence, no recommendation: customer %s, %s confidence %.2f < %.2f",
            customer.pk, driver.resource, confidence, policy.min_confidence,
        )  # fmt: skip
        return None
    best = find_best_bundle(
        needs=needs,
        bundles=options,
        wanted_features=frozenset(current.features) if current else frozenset(),
    )
    if best is None or (current is not None and best.key == current.key):
        return None
    upgrade = current is None or best.monthly_price > current.monthly_price
    if not upgrade:
        peaks = selectors.recent_peaks(
            customer=customer, since=now - LOW_UTILISATION_WINDOW
        )
        if not sustained_low_utilisation(
            recent_peaks=peaks, capacities=current.capacities, threshold=LOW_UTILISATION
        ):
            return None
    horizon_seconds = max(f.horizon * (f.step_seconds or 86_400) for f in forecasts)
    analysis = cost_benefit(
        forecasts={f.resource: _arrays(f) for f in forecasts},
        current_capacities=current.capacities if current else {},
        recommended_capacities=best.capacities,
        saturation_utilisation=policy.saturation_utilisation,
        revenue_per_unit=policy.revenue_per_unit,
        current_price=current.monthly_price if current else Decimal(0),
        recommended_price=best.monthly_price,
        horizon_seconds=horizon_seconds,
        currency=organization.currency,
    )
    if analysis.net_benefit <= 0:
        logger.info(
            "No recommendation: customer %s, %s would not pay off (net benefit %s)",
            customer.pk, best.name, analysis.net_benefit,
        )  # fmt: skip
        return None
    pending = (
        Recommendation.objects.select_for_update()
        .filter(customer=customer, status=Recommendation.Status.PENDING)
        .first()
    )
    if pending is not None:
        if pending.recommended_bundle_id == best.key:
            return pending
        pending.status = Recommendation.Status.EXPIRED
        pending.decided_at = now
        pending.save(update_fields=["status", "decided_at", "updated_at"])
    increase = best.monthly_price - (current.monthly_price if current else 0)
    auto = (
        policy.auto_approve
        and confidence >= policy.auto_approve_confidence
        and increase <= policy.max_monthly_increase
    )
    recommendation = Recommendation.objects.create(
        organization=organization,
        customer=customer,
        current_bundle_id=current.key if current else None,
        recommended_bundle_id=best.key,
        forecast=driver,
        direction=(
            Recommendation.Direction.UPGRADE
            if upgrade
            else Recommendation.Direction.DOWNGRADE
        ),
        status=(
            Recommendation.Status.AUTO_APPROVED
            if auto
            else Recommendation.Status.PENDING
        ),
        confidence=round(confidence, 4),
        predicted_peaks={r: round(v, 6) for r, v in sorted(needs.items())},
        horizon_days=max(1, round(horizon_seconds / 86_400)),
        currency=organization.currency,
        upgrade_cost=analysis.upgrade_cost,
        revenue_at_risk_current=analysis.revenue_at_risk_current,
        revenue_at_risk_recommended=analysis.revenue_at_risk_recommended,
        net_benefit=analysis.net_benefit,
        reason=(
            f"{driver.resource} peak {needs[driver.resource]:.2f} at the upper 95 % "
            f"bound ({driver.model}, MASE {driver.mase:.2f})"
            # The forecast's explanation: the cycles its model follows.
            + (f". {driver.message}" if driver.message else "")
        ),
        decided_at=now if auto else None,
        decided_by="auto-approval" if auto else "",
    )
    webhook_event_emit(
        organization=organization,
        type=WebhookEvent.Type.RECOMMENDATION_CREATED,
        payload={"recommendation": _recommendation_event_data(recommendation)},
        now=now,
        key=f"recommendation:{recommendation.pk}",
    )
    if auto:
        _enqueue_apply(recommendation.pk)
    return recommendation


def _recommendation_event_data(recommendation: Recommendation) -> dict:
    """A recommendation as its webhook event describes it (amounts as decimal
    strings, in its currency)."""
    return {
        "id": recommendation.pk,
        "customer_id": recommendation.customer.external_id,
        "direction": recommendation.direction,
        "status": recommendation.status,
        "current_bundle_id": recommendation.current_bundle_id,
        "recommended_bundle_id": recommendation.recommended_bundle_id,
        "confidence": recommendation.confidence,
        "currency": recommendation.currency,
        "upgrade_cost": str(recommendation.upgrade_cost),
        "net_benefit": str(recommendation.net_benefit),
    }


def recommendations_generate_for_organization(
    *, organization: Organization, now: datetime
) -> int:
    """Dynamic adjustment for every account with forecasts; returns how many
    recommendations are pending or approved afterwards for those accounts."""
    made = 0
    for customer in selectors.customers_with_metrics(organization=organization):
        if recommendation_generate(customer=customer, now=now) is not None:
            made += 1
    return made


def _locked(recommendation: Recommendation) -> Recommendation:
    return Recommendation.objects.select_for_update().get(pk=recommendation.pk)


def _decide(
    *,
    recommendation: Recommendation,
    to_status: str,
    verb: str,
    decided_by: str,
    now: datetime,
    note: str = "",
) -> Recommendation:
    """Record a customer's or admin's decision on a pending recommendation."""
    recommendation = _locked(recommendation)
    if recommendation.status != Recommendation.Status.PENDING:
        raise InvalidTransition(
            f"recommendation {recommendation.pk} is {recommendation.status}, "
            f"cannot {verb}",
            field="status",
        )
    recommendation.status = to_status
    recommendation.decided_at = now
    recommendation.decided_by = decided_by[:150]
    recommendation.decision_note = note
    recommendation.clean_fields(
        exclude=[
            f.name for f in Recommendation._meta.fields if f.name != "decision_note"
        ]
    )
    recommendation.save(
        update_fields=[
            "status",
            "decided_at",
            "decided_by",
            "decision_note",
            "updated_at",
        ]
    )
    return recommendation


@transaction.atomic
def recommendation_approve(
    *, recommendation: Recommendation, decided_by: str, now: datetime
) -> Recommendation:
    recommendation = _decide(
        recommendation=recommendation,
        to_status=Recommendation.Status.APPROVED,
        verb="approve",
        decided_by=decided_by,
        now=now,
    )
    _enqueue_apply(recommendation.pk)
    return recommendation


@transaction.atomic
def recommendation_reject(
    *, recommendation: Recommendation, decided_by: str, now: datetime, note: str = ""
) -> Recommendation:
    """Reject a pending recommendation; ``note`` is why, when the person rejecting
    it says (at most 300 characters)."""
    return _decide(
        recommendation=recommendation,
        to_status=Recommendation.Status.REJECTED,
        verb="reject",
        decided_by=decided_by,
        now=now,
        note=note.strip(),
    )


@transaction.atomic
def recommendation_apply(*, recommendation_id: int, now: datetime) -> Recommendation:
    """Provision an approved recommendation; applying twice changes nothing.

    The provisioner runs inside the transaction: if the webhook fails, nothing is
    recorded and the task retries.
    """
    recommendation = (
        Recommendation.objects.select_for_update()
        .select_related("customer__organization", "recommended_bundle")
        .get(pk=recommendation_id)
    )
    if recommendation.status == Recommendation.Status.APPLIED:
        return recommendation
    if recommendation.status not in (
        Recommendation.Status.APPROVED,
        Recommendation.Status.AUTO_APPROVED,
    ):
        raise InvalidTransition(
            f"recommendation {recommendation.pk} is {recommendation.status}, "
            "cannot apply",
            field="status",
        )
    customer, bundle = recommendation.customer, recommendation.recommended_bundle
    policy = selectors.policy_for(customer=customer)
    provisioner = provisioner_for(policy=policy)
    payload = {
        "event": "bundle.provisioned",
        "idempotency_key": f"recommendation-{recommendation.pk}",
        "account_id": customer.external_id,
        "bundle": bundle.name,
        "capacities": {c.resource: str(c.capacity) for c in bundle.capacities.all()},
        "features": list(bundle.features or []),
    }
    detail = provisioner.provision(customer=customer, bundle=bundle, payload=payload)
    entitlement_record(
        customer=customer,
        bundle=bundle,
        now=now,
        recommendation=recommendation,
        backend=provisioner.name,
        detail=detail,
    )
    recommendation.status = Recommendation.Status.APPLIED
    recommendation.applied_at = now
    recommendation.save(update_fields=["status", "applied_at", "updated_at"])
    return recommendation
