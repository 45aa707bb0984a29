"""Reads on bundles: templates, prices, offers, coverage, and the profiler's signals."""

from bundles.selectors.allowances import AllowanceUse, allowance_use
from bundles.selectors.offers import (
    LIVE_STATUSES,
    BundleCoverage,
    active_bundles_for,
    bundle_coverage,
    bundle_get,
    bundle_list,
    bundle_name,
    customer_bundles,
    portal_bundles,
)
from bundles.selectors.previews import PreviewRow, template_preview
from bundles.selectors.prices import (
    customer_price_overrides,
    list_prices,
    operation_price_list,
    unit_prices_for,
)
from bundles.selectors.settings import bundle_settings_for, engine_settings_for
from bundles.selectors.signals import (
    PROFILE_HORIZON_SECONDS,
    customer_signals,
    observed_usage,
)
from bundles.selectors.templates import (
    active_template_specs,
    template_get,
    template_list,
    template_spec,
)
from bundles.selectors.validity import Window, template_window, validity_window

__all__ = [
    "AllowanceUse",
    "BundleCoverage",
    "LIVE_STATUSES",
    "PROFILE_HORIZON_SECONDS",
    "PreviewRow",
    "Window",
    "active_bundles_for",
    "active_template_specs",
    "allowance_use",
    "bundle_coverage",
    "bundle_get",
    "bundle_list",
    "bundle_name",
    "bundle_settings_for",
    "customer_bundles",
    "customer_price_overrides",
    "customer_signals",
    "engine_settings_for",
    "list_prices",
    "observed_usage",
    "operation_price_list",
    "portal_bundles",
    "template_get",
    "template_list",
    "template_preview",
    "template_spec",
    "template_window",
    "unit_prices_for",
    "validity_window",
]
