"""Human labels of the cost engine's lines, built from their structured data
(kind, activity, tier band, prices), never from their breakdown keys:
``Tokens — tier 1 (0–10,000 at 0.002)`` rather than ``tokens.tier_1_cost``.

Screens write the numbers in the active locale (the defaults); invoices pass
``billing_site.formatting``'s document forms, so a stored description does not
depend on the language of whoever generated it."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from billing_site.decimals import plain_decimal
from billing_site.formatting import format_money, format_number
from pricing import engine


def activity_name(activity_type: str) -> str:
    """``gpt_tokens`` -> ``Gpt tokens``: the activity code as words."""
    words = activity_type.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


Number = Callable[[Decimal], str]
Money = Callable[[Decimal, str], str]


def _band(line: engine.CostLine, number: Number) -> str:
    lower = number(line.lower if line.lower is not None else Decimal(0))
    if line.upper is None:
        return f"above {lower}"
    return f"{lower}–{number(line.upper)}"


def _price(line: engine.CostLine, currency: str, number: Number, money: Money) -> str:
    text = f"at {number(line.unit_price)}"
    if line.flat_fee:
        text += f" + {money(line.flat_fee, currency)} flat"
    return text


def line_label(
    line: engine.CostLine,
    currency: str,
    *,
    number: Number = format_number,
    money: Money = format_money,
) -> str:
    """What ``line`` charges, in words, with its tier band and prices.

    ``currency`` writes the money in it (agent fees, flat fees); unit prices are
    written exactly, without a currency. ``number`` and ``money`` write the
    figures (the active locale's forms unless told).
    """
    if line.kind == engine.SUBSCRIPTION_FEE:
        return "Subscription fee"
    name = activity_name(line.activity_type)
    prefix = f"{name} — " if name else ""
    if line.kind == engine.BASE_AGENT_FEE:
        agents = number(line.units or Decimal(0))
        noun = "agent" if line.units == 1 else "agents"
        fee = money(line.unit_price or Decimal(0), currency)
        return f"{prefix}base fee ({agents} {noun} at {fee})"
    if line.kind == engine.MINIMUM_CHARGE_ADJUSTMENT:
        return f"{prefix}top-up to the minimum charge"
    if line.kind not in (engine.USAGE, engine.TIER, engine.OVERFLOW):
        return f"{prefix}{line.key}"
    price = _price(line, currency, number, money)
    if line.kind == engine.USAGE:
        return f"{prefix}usage ({price})"
    if line.kind == engine.TIER:
        return f"{prefix}tier {line.tier} ({_band(line, number)} {price})"
    return f"{prefix}{_band(line, number)} ({price})"


@dataclass(frozen=True)
class LabelledLine:
    key: str  # the engine's breakdown key
    label: str
    units: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class CostPreview:
    """A cost result as screens show it: labelled lines adding up to the total."""

    currency: str
    lines: tuple[LabelledLine, ...]
    total: Decimal
    minimum_charge_applied: bool


def cost_preview(result: engine.CostResult) -> CostPreview:
    return CostPreview(
        currency=result.currency,
        lines=tuple(
            LabelledLine(
                key=line.key,
                label=line_label(line, result.currency),
                units=line.units,
                amount=line.amount,
            )
            for line in result.lines
        ),
        total=result.total,
        minimum_charge_applied=result.minimum_charge_applied,
    )


def cost_preview_data(preview: CostPreview) -> dict:
    """The preview as JSON values: amounts as decimal strings to the minor unit,
    units as exact decimal strings."""
    return {
        "currency": preview.currency,
        "total": f"{preview.total:f}",
        "minimum_charge_applied": preview.minimum_charge_applied,
        "lines": [
            {
                "key": line.key,
                "label": line.label,
                "units": None if line.units is None else plain_decimal(line.units),
                "amount": f"{line.amount:f}",
            }
            for line in preview.lines
        ],
    }
