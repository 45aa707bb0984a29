"""The seed's flattened billing-model shape, mapped onto the nested one and back.

The API accepts either shape; services only see the nested one::

    {"name", "model_type", "subscription_fee",
     "activity": {"price_per_unit", "activity_type", ..., "tier_mode",
                  "tiers": [{"up_to", "unit_price", "flat_fee"}, ...]}}

Flattened keys are ``activity_<field>``; ``activity_volume_tier_N_threshold`` and
``activity_volume_tier_N_price`` (N = 1..3) are tier N's ``up_to`` and ``unit_price``.
Older names are accepted: ``price_per_action`` for ``price_per_unit`` and
``action_type`` for ``activity_type`` (nested or flattened). Error keys use dotted
paths with 0-based indexes (``activity.tiers.1.up_to``), translated back to the
flattened names when the request used them.
"""

import copy
import re
from collections.abc import Mapping
from typing import Any

FLAT_PREFIX = "activity_"
SEED_TIER_COUNT = 3
LEGACY_NAMES = {"price_per_action": "price_per_unit", "action_type": "activity_type"}
_FLAT_TIER = re.compile(r"^activity_volume_tier_(\d+)_(threshold|price)$")
_TIER_FIELD = {"threshold": "up_to", "price": "unit_price"}
_FLAT_FROM_TIER_FIELD = {"up_to": "threshold", "unit_price": "price"}
_NESTED_TIER_KEY = re.compile(r"^activity\.tiers\.(\d+)\.(up_to|unit_price)$")


class ShapeError(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def is_flat(data: Mapping) -> bool:
    return any(
        isinstance(key, str) and key.startswith(FLAT_PREFIX) for key in data.keys()
    )


def rename_legacy(activity: Mapping, prefix: str = "activity.") -> dict:
    """``activity`` with older field names renamed; both names at once is an error."""
    renamed = dict(activity)
    for old, new in LEGACY_NAMES.items():
        if old in renamed:
            if new in renamed:
                raise ShapeError(
                    {f"{prefix}{old}": [f"Give either {old} or {new}, not both."]}
                )
            renamed[new] = renamed.pop(old)
    return renamed


def apply_flat(current: Mapping, flat: Mapping) -> dict:
    """``current`` (nested) with the flattened fields of ``flat`` written onto it.

    Creating is applying onto an empty model; a partial update applies onto the
    model as it is. Tier N can be set only when tiers 1..N-1 exist; a trailing tier
    left with neither threshold nor price is removed (that is how a seed client
    drops a tier).
    """
    nested = copy.deepcopy(dict(current))
    if "activity" in flat or "activities" in flat:
        raise ShapeError(
            {
                "activity": [
                    "Use either the nested activity object or the flattened "
                    "activity_* fields, not both."
                ]
            }
        )
    activity = dict(nested.get("activity") or {})
    tiers = [dict(tier) for tier in activity.get("tiers") or []]
    plain = {}
    tier_writes = []
    for key, value in flat.items():
        match = _FLAT_TIER.match(key) if isinstance(key, str) else None
        if match:
            tier_writes.append(
                (int(match.group(1)), _TIER_FIELD[match.group(2)], value)
            )
        elif isinstance(key, str) and key.startswith(FLAT_PREFIX):
            plain[key[len(FLAT_PREFIX) :]] = value
        else:
            nested[key] = value
    plain = rename_legacy(plain, prefix=FLAT_PREFIX)
    activity.update(plain)
    for number, field, value in sorted(tier_writes):
        if not 1 <= number <= SEED_TIER_COUNT:
            raise ShapeError(
                {
                    f"activity_volume_tier_{number}_{_FLAT_FROM_TIER_FIELD[field]}": [
                        "The flattened shape has tiers 1 to 3; use the nested "
                        "tiers list for more."
                    ]
                }
            )
        index = number - 1
        if index > len(tiers):
            raise ShapeError(
                {
                    f"activity_volume_tier_{number}_{_FLAT_FROM_TIER_FIELD[field]}": [
                        f"Set tier {number - 1} first."
                    ]
                }
            )
        if index == len(tiers):
            tiers.append({"up_to": None, "unit_price": None, "flat_fee": "0"})
        tiers[index][field] = value
    while (
        tiers and tiers[-1].get("up_to") is None and tiers[-1].get("unit_price") is None
    ):
        tiers.pop()
    activity["tiers"] = tiers
    nested["activity"] = activity
    return nested


def flat_view(activity: Mapping | None) -> dict[str, Any]:
    """The seed's flattened fields for one activity (``None`` values without it).

    ``activity`` is the nested output of one activity; tier fields beyond its tiers
    are ``None``.
    """
    fields = [
        "price_per_unit", "activity_type", "unit_type", "base_agent_fee",
        "volume_pricing_enabled", "minimum_charge", "billing_frequency",
    ]  # fmt: skip
    flat: dict[str, Any] = {
        f"{FLAT_PREFIX}{name}": (activity or {}).get(name) for name in fields
    }
    tiers = list((activity or {}).get("tiers") or [])
    for number in range(1, SEED_TIER_COUNT + 1):
        tier = tiers[number - 1] if number <= len(tiers) else {}
        flat[f"activity_volume_tier_{number}_threshold"] = tier.get("up_to")
        flat[f"activity_volume_tier_{number}_price"] = tier.get("unit_price")
    return flat


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"dotted.path": [messages]}``."""
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, path))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, (Mapping, list)) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            flat.update(flatten_errors(item, f"{prefix}.{index}"))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


def flat_error_key(key: str) -> str:
    """A nested error key in the flattened shape's names, when it has one."""
    match = _NESTED_TIER_KEY.match(key)
    if match:
        number = int(match.group(1)) + 1
        return f"activity_volume_tier_{number}_{_FLAT_FROM_TIER_FIELD[match.group(2)]}"
    if key.startswith("activity.") and key.count(".") == 1:
        return FLAT_PREFIX + key.split(".", 1)[1]
    return key
