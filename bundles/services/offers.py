"""Offer runs: personalised bundles for every profiled customer of an
organization, and the upgrade offer for an operation used outside any bundle."""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from bundles import engine, selectors
from bundles.models import (
    BundleSettings,
    BundleStatusChange,
    PersonalizedBundle,
    PersonalizedBundleLine,
    Validity,
)
from bundles.services.prices import bundle_settings_ensure
from bundles.services.transitions import SYSTEM, Status, _transition_many
from metering.models import Customer, Organization


@dataclass
class RunSummary:
    customers: int = 0
    offered: int = 0
    already_offered: int = 0
    not_worth_offering: int = 0
    superseded: int = 0


@dataclass(frozen=True)
class _Planned:
    customer_id: int
    proposal: engine.Proposal
    signals: engine.CustomerSignals
    window: selectors.Window


def _identity(iterable, desc: str = "", total: int | None = None):
    return iterable


@transaction.atomic
def personalized_bundles_create(
    *,
    organization: Organization,
    now: dt.datetime,
    customer_ids: Iterable[int] | None = None,
    progress: Callable = _identity,
) -> RunSummary:
    """Offer each profiled customer of ``organization`` their personalised bundle.

    Idempotent per validity period: a customer who already has a scheduled offer
    for the period of the bundle they would get now is skipped (the database
    enforces one per customer, period and source). A new offer replaces the
    customer's older open scheduled offers (they expire). Runs of one organization
    are serialised by a lock on its settings row.
    """
    settings_row = bundle_settings_ensure(organization=organization)
    BundleSettings.objects.select_for_update().filter(pk=settings_row.pk).get()
    summary = RunSummary()
    specs, windows = _active_templates(
        organization=organization, now=now, session_minutes=settings_row.session_minutes
    )
    if not specs:
        return summary
    ids = list(customer_ids) if customer_ids is not None else None
    signals = selectors.customer_signals(organization=organization, customer_ids=ids)
    summary.customers = len(signals)
    prices = selectors.list_prices(organization=organization)
    overrides = selectors.customer_price_overrides(
        organization=organization, customer_ids=ids
    )
    settings = selectors.engine_settings_for(organization=organization)
    existing = set(
        PersonalizedBundle.objects.filter(
            organization=organization,
            source=PersonalizedBundle.Source.SCHEDULED,
            period_key__in={w.period_key for w in windows.values()},
        ).values_list("customer_id", "period_key")
    )
    planned = []
    for customer_id, customer_signals in progress(
        signals.items(), desc="bundles", total=len(signals)
    ):
        customer_prices = prices
        if customer_id in overrides:
            customer_prices = {**prices, **overrides[customer_id]}
        proposal = engine.propose_bundle(
            customer_signals, specs, customer_prices, settings
        )
        if proposal is None:
            summary.not_worth_offering += 1
            continue
        window = windows[proposal.matches[0].template.key]
        if (customer_id, window.period_key) in existing:
            summary.already_offered += 1
            continue
        planned.append(_Planned(customer_id, proposal, customer_signals, window))
    summary.superseded = _supersede_offers(
        organization=organization,
        planned=planned,
        source=PersonalizedBundle.Source.SCHEDULED,
        now=now,
    )
    summary.offered = len(
        _bundles_save(
            organization=organization,
            planned=planned,
            source=PersonalizedBundle.Source.SCHEDULED,
            now=now,
        )
    )
    return summary


def _supersede_offers(
    *, organization: Organization, planned: list[_Planned], source: str, now
) -> int:
    """Expire the open offers of the same source that the planned ones replace."""
    if not planned:
        return 0
    stale = PersonalizedBundle.objects.filter(
        organization=organization,
        customer_id__in=[p.customer_id for p in planned],
        source=source,
        status=Status.OFFERED,
    ).exclude(period_key__in={p.window.period_key for p in planned})
    return _transition_many(bundles=stale, to_status=Status.EXPIRED, now=now)


def _bundles_save(
    *, organization: Organization, planned: list[_Planned], source: str, now
) -> list[PersonalizedBundle]:
    bundles = [
        PersonalizedBundle(
            organization=organization,
            customer_id=p.customer_id,
            source=source,
            period_key=p.window.period_key,
            validity=p.proposal.validity,
            status=Status.OFFERED,
            currency=organization.currency,
            list_value=p.proposal.list_value,
            discount=p.proposal.discount,
            upsell=p.proposal.upsell,
            price=p.proposal.price,
            predicted_cost=p.proposal.predicted_cost,
            expected_saving=p.proposal.expected_saving,
            valid_from=p.window.valid_from,
            valid_until=p.window.valid_until,
            reasons=engine.reasons_for(p.proposal, p.signals),
        )
        for p in planned
    ]
    PersonalizedBundle.objects.bulk_create(bundles, batch_size=2000)
    lines = []
    links = []
    changes = []
    through = PersonalizedBundle.templates.through
    for bundle, p in zip(bundles, planned, strict=True):
        for line in p.proposal.lines:
            lines.append(
                PersonalizedBundleLine(
                    bundle=bundle,
                    operation=line.operation,
                    included_quantity=line.included_quantity,
                    unit_price=line.unit_price,
                    predicted_quantity=line.predicted_quantity.quantize(
                        Decimal("0.000001")
                    ),
                    source=line.source,
                    template_id=line.template_key,
                )
            )
        for key in p.proposal.template_keys:
            links.append(
                through(personalizedbundle_id=bundle.pk, bundletemplate_id=key)
            )
        changes.append(
            BundleStatusChange(
                bundle=bundle, from_status="", to_status=Status.OFFERED, at=now,
                actor=SYSTEM,
            )
        )  # fmt: skip
    PersonalizedBundleLine.objects.bulk_create(lines, batch_size=5000)
    through.objects.bulk_create(links, batch_size=5000)
    BundleStatusChange.objects.bulk_create(changes, batch_size=5000)
    return bundles


@transaction.atomic
def bundle_upgrade_offer(
    *,
    customer: Customer,
    operation: str,
    now: dt.datetime,
    observed_quantity: Decimal | None = None,
) -> PersonalizedBundle | None:
    """Offer the customer a bundle that covers ``operation`` (the seed's
    ``offerBundleUpgrade``), when they use it outside their bundles.

    The prediction for ``operation`` is at least ``observed_quantity`` (default:
    their use of it this calendar month). Returns the open upgrade offer of the
    period if one exists (idempotent), None when no bundle covering the operation
    passes the never-pay-more rule or the customer already has a live bundle
    covering it.
    """
    organization = customer.organization
    covered = (
        selectors.active_bundles_for(customer=customer, at=now)
        .filter(lines__operation=operation)
        .exists()
    )
    if covered:
        return None
    settings_row = bundle_settings_ensure(organization=organization)
    specs, windows = _active_templates(
        organization=organization, now=now, session_minutes=settings_row.session_minutes
    )
    signals = selectors.customer_signals(
        organization=organization, customer_ids=[customer.pk]
    ).get(customer.pk) or engine.CustomerSignals(
        tags={}, segment=None, predicted_counts={}
    )
    if observed_quantity is None:
        observed_quantity = selectors.observed_usage(
            customer=customer, operation=operation, at=now
        )
    predicted = dict(signals.predicted_counts)
    predicted[operation] = max(predicted.get(operation, Decimal(0)), observed_quantity)
    signals = engine.CustomerSignals(
        tags=signals.tags,
        segment=signals.segment,
        predicted_counts=predicted,
        horizon_seconds=signals.horizon_seconds,
    )
    settings = selectors.engine_settings_for(organization=organization)
    # The upgrade is about the operation: any template covering it qualifies,
    # whatever its score; without one, an algorithmic bundle for the operation.
    settings = engine.EngineSettings(**{**settings.__dict__, "threshold": Decimal(0)})
    covering = [
        s for s in specs if any(line.operation == operation for line in s.lines)
    ]
    prices = selectors.unit_prices_for(customer=customer)
    proposal = engine.propose_bundle(signals, covering, prices, settings)
    if proposal is None or operation not in {line.operation for line in proposal.lines}:
        window = selectors.validity_window(
            validity=Validity.MONTH,
            now=now,
            timezone=organization.timezone,
            session_minutes=settings_row.session_minutes,
        )
        proposal = engine.propose_algorithmic(
            signals, [operation], prices, settings, Validity.MONTH, window.seconds
        )
        if proposal is None:
            return None
    else:
        window = windows[proposal.matches[0].template.key]
    existing = PersonalizedBundle.objects.filter(
        customer=customer,
        source=PersonalizedBundle.Source.UPGRADE,
        period_key=window.period_key,
    ).first()
    if existing is not None:
        return existing
    planned = [_Planned(customer.pk, proposal, signals, window)]
    (bundle,) = _bundles_save(
        organization=organization,
        planned=planned,
        source=PersonalizedBundle.Source.UPGRADE,
        now=now,
    )
    return bundle


def _active_templates(*, organization, now, session_minutes: int) -> tuple[list, dict]:
    """The active templates' engine specs and validity windows (by template id)."""
    templates = list(
        selectors.template_list(organization=organization)
        .filter(is_active=True)
        .select_related("organization")
    )
    specs = [
        selectors.template_spec(template=t, now=now, session_minutes=session_minutes)
        for t in templates
    ]
    windows = {
        t.pk: selectors.template_window(
            template=t, now=now, session_minutes=session_minutes
        )
        for t in templates
    }
    return specs, windows
