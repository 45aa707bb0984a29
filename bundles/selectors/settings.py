"""Reads on the organization's bundle settings and the engine settings built
from them."""

from decimal import Decimal

from bundles import engine
from bundles.models import BundleSettings
from metering.models import Organization


def bundle_settings_for(*, organization: Organization) -> BundleSettings:
    """The organization's settings row, or an unsaved one with the defaults."""
    found = BundleSettings.objects.filter(organization=organization).first()
    return found or BundleSettings(organization=organization)


def engine_settings_for(*, organization: Organization) -> engine.EngineSettings:
    row = bundle_settings_for(organization=organization)
    return engine.EngineSettings(
        currency=organization.currency,
        threshold=Decimal(row.match_threshold),
        quantity_margin_percent=Decimal(row.quantity_margin_percent),
        max_lines=row.max_lines,
        upsell_percent=Decimal(row.upsell_percent),
        algorithmic_discount_percent=Decimal(row.algorithmic_discount_percent),
    )
