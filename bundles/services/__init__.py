"""Writes on bundles: prices, templates, offer runs, offer state changes, expiry."""

from bundles.services.offers import (
    RunSummary,
    bundle_upgrade_offer,
    personalized_bundles_create,
)
from bundles.services.prices import bundle_settings_ensure, operation_price_set
from bundles.services.templates import (
    TemplateOperationInput,
    bundle_template_delete,
    bundle_template_save,
)
from bundles.services.transitions import (
    SYSTEM,
    Status,
    bundle_accept,
    bundle_activate,
    bundle_decline,
    bundles_expire,
)

__all__ = [
    "RunSummary",
    "SYSTEM",
    "Status",
    "TemplateOperationInput",
    "bundle_accept",
    "bundle_activate",
    "bundle_decline",
    "bundle_settings_ensure",
    "bundle_template_delete",
    "bundle_template_save",
    "bundle_upgrade_offer",
    "bundles_expire",
    "operation_price_set",
    "personalized_bundles_create",
]
