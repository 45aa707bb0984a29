"""Writes on pricing: billing models with their activity pricing and tiers.

A billing model is written whole from a ``BillingModelSpec`` (the nested API shape
as dataclasses): its activity pricing and tiers are replaced, so every write passes
the same validation. Errors are a Django ``ValidationError`` keyed by dotted path
(``activity.tiers.1.up_to``; ``activities.<i>.`` for hybrids), which the API renders
as ``{"errors": {path: [message]}}``.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from billing_site.transactions import conflict_on_unique
from metering.models import Organization
from pricing import engine
from pricing.models import ActivityBasedConfig, BillingModel, PriceTier


@dataclass(frozen=True)
class TierSpec:
    up_to: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = Decimal("0")


@dataclass(frozen=True)
class ActivitySpec:
    activity_type: str
    price_per_unit: Decimal
    unit_type: str = ActivityBasedConfig.UnitType.ACTION
    base_agent_fee: Decimal = Decimal("0")
    volume_pricing_enabled: bool = False
    tier_mode: str = ActivityBasedConfig.TierMode.GRADUATED
    tiers: tuple[TierSpec, ...] = ()
    minimum_charge: Decimal = Decimal("0")
    billing_frequency: str = ActivityBasedConfig.BillingFrequency.MONTHLY
    is_active: bool = True


@dataclass(frozen=True)
class BillingModelSpec:
    name: str
    model_type: str = BillingModel.ModelType.ACTIVITY
    description: str = ""
    is_active: bool = True
    subscription_fee: Decimal = Decimal("0")
    activities: tuple[ActivitySpec, ...] = field(default=())


def activity_prefix(model_type: str, index: int) -> str:
    """Where an activity's errors are reported: ``activity.`` or ``activities.<i>.``."""
    if model_type == BillingModel.ModelType.HYBRID:
        return f"activities.{index}."
    return "activity."


def _merge(errors: dict, prefix: str, error: ValidationError) -> None:
    for key, messages in error.message_dict.items():
        name = prefix.rstrip(".") if key == "__all__" else f"{prefix}{key}"
        errors.setdefault(name or "non_field_errors", []).extend(messages)


def _tier_errors(
    tiers: tuple[TierSpec, ...], *, volume_pricing_enabled: bool, prefix: str
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    problems = engine.tier_problems(
        [engine.Tier(t.up_to, t.unit_price, t.flat_fee) for t in tiers],
        volume_pricing_enabled=volume_pricing_enabled,
    )
    for index, name, message in problems:
        key = f"{prefix}{name}" if index is None else f"{prefix}tiers.{index}.{name}"
        errors.setdefault(key, []).append(message)
    return errors


def _build(
    organization: Organization, spec: BillingModelSpec, instance: BillingModel | None
) -> tuple[BillingModel, list[tuple[ActivityBasedConfig, list[PriceTier]]]]:
    """Unsaved rows for ``spec``, validated; raises ``ValidationError`` by path."""
    errors: dict[str, list[str]] = {}
    model = instance or BillingModel(organization=organization)
    model.name = spec.name
    model.description = spec.description
    model.model_type = spec.model_type
    model.is_active = spec.is_active
    model.subscription_fee = spec.subscription_fee
    try:
        model.full_clean(
            exclude=["organization"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as error:
        _merge(errors, "", error)
    duplicate = BillingModel.objects.filter(
        organization=organization, name=spec.name
    ).exclude(pk=model.pk)
    if spec.name and duplicate.exists():
        errors.setdefault("name", []).append(
            f"A billing model named {spec.name!r} already exists."
        )

    count = len(spec.activities)
    if spec.model_type == BillingModel.ModelType.ACTIVITY and count != 1:
        errors.setdefault("activity", []).append(
            "An activity-based model needs exactly one activity pricing."
        )
    elif spec.model_type == BillingModel.ModelType.HYBRID and count < 1:
        errors.setdefault("activities", []).append(
            "A hybrid model needs at least one activity pricing."
        )
    elif spec.model_type == BillingModel.ModelType.SUBSCRIPTION and count:
        errors.setdefault("activities", []).append(
            "A subscription model has no activity pricing."
        )

    rows = []
    seen: set[str] = set()
    for index, activity in enumerate(spec.activities):
        prefix = activity_prefix(spec.model_type, index)
        if activity.activity_type in seen:
            errors.setdefault(f"{prefix}activity_type", []).append(
                f"Activity type {activity.activity_type!r} is priced twice."
            )
        seen.add(activity.activity_type)
        config = ActivityBasedConfig(
            activity_type=activity.activity_type,
            unit_type=activity.unit_type,
            price_per_unit=activity.price_per_unit,
            base_agent_fee=activity.base_agent_fee,
            volume_pricing_enabled=activity.volume_pricing_enabled,
            tier_mode=activity.tier_mode,
            minimum_charge=activity.minimum_charge,
            billing_frequency=activity.billing_frequency,
            is_active=activity.is_active,
        )
        try:
            config.full_clean(
                exclude=["billing_model"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as error:
            _merge(errors, prefix, error)
        tiers = []
        for position, tier_spec in enumerate(activity.tiers, start=1):
            tier = PriceTier(
                position=position,
                up_to=tier_spec.up_to,
                unit_price=tier_spec.unit_price,
                flat_fee=tier_spec.flat_fee,
            )
            try:
                tier.full_clean(
                    exclude=["config"],
                    validate_unique=False,
                    validate_constraints=False,
                )
            except ValidationError as error:
                _merge(errors, f"{prefix}tiers.{position - 1}.", error)
            tiers.append(tier)
        for key, messages in _tier_errors(
            activity.tiers,
            volume_pricing_enabled=activity.volume_pricing_enabled,
            prefix=prefix,
        ).items():
            existing = errors.setdefault(key, [])
            existing.extend(m for m in messages if m not in existing)
        rows.append((config, tiers))
    if errors:
        raise ValidationError(errors)
    return model, rows


def _write_activities(
    model: BillingModel, rows: list[tuple[ActivityBasedConfig, list[PriceTier]]]
) -> None:
    """Update activities in place by activity type (ids survive), replace tiers."""
    existing = {config.activity_type: config for config in model.activity_configs.all()}
    wanted = {config.activity_type for config, _ in rows}
    model.activity_configs.exclude(activity_type__in=wanted).delete()
    for config, tiers in rows:
        current = existing.get(config.activity_type)
        if current is not None:
            config.pk = current.pk
            config.created_at = current.created_at
            config._state.adding = False
        config.billing_model = model
        config.save()
        config.tiers.all().delete()
        for tier in tiers:
            tier.config = config
        PriceTier.objects.bulk_create(tiers)


@transaction.atomic
def billing_model_create(
    *, organization: Organization, spec: BillingModelSpec
) -> BillingModel:
    model, rows = _build(organization, spec, None)
    with conflict_on_unique(
        "billing_model_unique_name",
        f"A billing model named {model.name!r} already exists.",
        field="name",
    ):
        model.save()
    _write_activities(model, rows)
    return model


@transaction.atomic
def billing_model_update(
    *, billing_model: BillingModel, spec: BillingModelSpec
) -> BillingModel:
    """Replace the model's fields, activity pricing and tiers with ``spec``."""
    locked = BillingModel.objects.select_for_update().get(pk=billing_model.pk)
    model, rows = _build(locked.organization, spec, locked)
    with conflict_on_unique(
        "billing_model_unique_name",
        f"A billing model named {model.name!r} already exists.",
        field="name",
    ):
        model.save()
    _write_activities(model, rows)
    return model


@transaction.atomic
def billing_model_delete(*, billing_model: BillingModel) -> None:
    BillingModel.objects.filter(pk=billing_model.pk).delete()


@transaction.atomic
def activity_tiers_replace(
    *, config: ActivityBasedConfig, tiers: list[TierSpec]
) -> list[PriceTier]:
    """Replace an activity's tiers (in order, renumbered 1..n) after validation."""
    config = ActivityBasedConfig.objects.select_for_update().get(pk=config.pk)
    errors = _tier_errors(
        tuple(tiers), volume_pricing_enabled=config.volume_pricing_enabled, prefix=""
    )
    if errors:
        raise ValidationError(errors)
    config.tiers.all().delete()
    return PriceTier.objects.bulk_create(
        PriceTier(
            config=config,
            position=position,
            up_to=tier.up_to,
            unit_price=tier.unit_price,
            flat_fee=tier.flat_fee,
        )
        for position, tier in enumerate(tiers, start=1)
    )
