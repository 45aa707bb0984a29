"""Reads of invoicing: usage aggregation, rating inputs, invoices, live totals.

Usage of a period, for its invoice as for the live total of the open month, is read
from metering's usage read model: each operation's billable quantity as its metric
aggregates it, a month's sums and counts from metering's usage counters (see
``period_usage`` for why they are exact). It feeds ``invoices.rating.rate`` through
``rating_input``, which decides what belongs on which invoice (see ``terms``).

Split by sub-domain; callers import from here:

- ``invoices``: settings, invoice lists and lookups, diffs, finalizable drafts;
- ``overview``: the admin index's revenue of the last closed month and queues;
- ``usage``: usage by customer and period, fan-out slices;
- ``terms``: an organization's terms for a period and each customer's rating input;
- ``late_usage``: late usage of issued invoices and the adjustments billing it;
- ``commercial``: tax rates and coupon discounts of customers, their lists;
- ``live``: the live total of a customer's open month and day;
- ``subscribers``: a billing model's subscribers in a period, their tier utilisation.
"""

from invoices.selectors._common import ZERO
from invoices.selectors.commercial import (
    TaxTable,
    coupon_list,
    customer_redemptions,
    customer_tax_profile,
    discounts_by_customer,
    redemptions_in_force,
    tax_rate_list,
    tax_table,
)
from invoices.selectors.invoices import (
    DiffRow,
    DiffTotals,
    LineGroup,
    TotalRow,
    customer_has_invoices,
    customer_invoices,
    invoice_diff,
    invoice_diff_totals,
    invoice_get,
    invoice_line_groups,
    invoice_list,
    invoice_payments,
    invoice_previous,
    invoice_totals,
    invoices_finalizable,
    invoicing_settings_for,
)
from invoices.selectors.late_usage import (
    BILLABLE_STATUSES,
    invoices_with_late_usage,
    late_adjustments,
)
from invoices.selectors.live import CurrentUsageCost, current_usage_cost
from invoices.selectors.overview import BillingOverview, Revenue, billing_overview
from invoices.selectors.subscribers import (
    billing_model_subscriber_ids,
    subscriber_tier_utilisation,
)
from invoices.selectors.terms import (
    PER_USE,
    ModelTerms,
    OrganizationTerms,
    organization_terms,
    provider_charges_open,
    rating_input,
)
from invoices.selectors.usage import (
    customer_count,
    customer_id_slices,
    customers_in,
    per_use_events_by_customer,
    period_usage,
    usage_by_customer,
)

__all__ = [
    "coupon_list",
    "customer_redemptions",
    "customer_tax_profile",
    "discounts_by_customer",
    "redemptions_in_force",
    "tax_rate_list",
    "tax_table",
    "TaxTable",
    "BILLABLE_STATUSES",
    "billing_model_subscriber_ids",
    "billing_overview",
    "BillingOverview",
    "current_usage_cost",
    "CurrentUsageCost",
    "customer_has_invoices",
    "customer_count",
    "customer_id_slices",
    "customer_invoices",
    "customers_in",
    "DiffRow",
    "DiffTotals",
    "invoice_diff",
    "invoice_diff_totals",
    "invoice_get",
    "invoice_line_groups",
    "invoice_payments",
    "invoice_list",
    "invoice_previous",
    "invoice_totals",
    "invoices_finalizable",
    "invoices_with_late_usage",
    "invoicing_settings_for",
    "late_adjustments",
    "LineGroup",
    "TotalRow",
    "ModelTerms",
    "organization_terms",
    "OrganizationTerms",
    "PER_USE",
    "per_use_events_by_customer",
    "period_usage",
    "provider_charges_open",
    "rating_input",
    "Revenue",
    "subscriber_tier_utilisation",
    "usage_by_customer",
    "ZERO",
]
