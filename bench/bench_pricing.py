"""Cost engine throughput: calculations per second for a 10-tier price.

Engine alone (no database): ``pricing.engine.calculate_cost`` on a 10-tier graduated
price with usage spread over every tier, against two references measured in the
same run: the same engine on a 1-tier price, and a plain ``Decimal`` multiply-add
loop of the same count (the floor any Decimal pricing pays).
"""

import random
from decimal import Decimal

from bench.core import Context, Result, stopwatch
from pricing.engine import ActivityPricing, Tier, calculate_cost

ORDER = 30
CALCULATIONS = 100_000


def ten_tier_pricing() -> ActivityPricing:
    tiers = tuple(
        Tier(
            up_to=Decimal(10_000 * 2**index),
            unit_price=Decimal("0.001000") - Decimal("0.00008") * index,
            flat_fee=Decimal(index),
        )
        for index in range(9)
    )
    return ActivityPricing(
        price_per_unit=Decimal("0.00025"),
        base_agent_fee=Decimal("10.00"),
        volume_pricing_enabled=True,
        tiers=(*tiers, Tier(None, Decimal("0.0003"))),
        minimum_charge=Decimal("5.00"),
    )


def one_tier_pricing() -> ActivityPricing:
    return ActivityPricing(
        price_per_unit=Decimal("0.001"),
        base_agent_fee=Decimal("10.00"),
        minimum_charge=Decimal("5.00"),
    )


def _inputs(count: int) -> list[tuple[Decimal, int]]:
    rng = random.Random(7)
    return [
        (Decimal(rng.randrange(0, 6_000_000)), rng.randrange(0, 20))
        for _ in range(count)
    ]


def _rate(pricing: ActivityPricing, inputs: list[tuple[Decimal, int]]) -> float:
    with stopwatch() as timing:
        for units, agents in inputs:
            calculate_cost(pricing, units, agents)
    return len(inputs) / timing["seconds"]


def _decimal_loop_rate(inputs: list[tuple[Decimal, int]]) -> float:
    price, fee = Decimal("0.001"), Decimal("10.00")
    with stopwatch() as timing:
        for units, agents in inputs:
            units * price + fee * agents
    return len(inputs) / timing["seconds"]


def run(ctx: Context) -> list[Result]:
    inputs = _inputs(ctx.scaled(CALCULATIONS))
    ten = ten_tier_pricing()
    calculate_cost(ten, Decimal(1), 1)  # warm-up
    ten_rate = _rate(ten, inputs)
    one_rate = _rate(one_tier_pricing(), inputs)
    loop_rate = _decimal_loop_rate(inputs)
    count = f"{len(inputs):,} calculations, usage spread up to 6M units"
    return [
        Result(
            "pricing: 10-tier cost calculations",
            ten_rate,
            "calc/s",
            reference=one_rate,
            reference_name="1-tier price, same engine",
            note=count,
        ),
        Result(
            "pricing: 10-tier vs plain Decimal multiply-add",
            ten_rate,
            "calc/s",
            reference=loop_rate,
            reference_name="Decimal units*price+fee*agents loop",
            note=count,
        ),
    ]
