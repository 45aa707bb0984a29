"""Billing models API: ``/api/v1/billing-models/`` and ``.../{id}/calculate-cost/``.

Writes accept the seed's flattened shape (``activity_price_per_unit``,
``activity_volume_tier_1_threshold``, ...) or the nested one (``activity`` with a
``tiers`` list, or ``activities`` for hybrids); reads return both. Decimals are
accepted as JSON numbers (parsed exactly, never through float) or strings, and
rendered as decimal strings.

Split by concern: ``fields`` (parser, decimal field, money format), ``inputs``
(write and calculator input shapes), ``outputs`` (read shapes) and ``views``.
"""

from pricing.api.fields import MONEY_FORMAT as MONEY_FORMAT
from pricing.api.fields import DecimalJSONParser as DecimalJSONParser
from pricing.api.inputs import ActivityInputSerializer as ActivityInputSerializer
from pricing.api.inputs import (
    BillingModelInputSerializer as BillingModelInputSerializer,
)
from pricing.api.inputs import (
    CostCalculateInputSerializer as CostCalculateInputSerializer,
)
from pricing.api.inputs import TierInputSerializer as TierInputSerializer
from pricing.api.inputs import UnitsField as UnitsField
from pricing.api.outputs import ActivityOutputSerializer as ActivityOutputSerializer
from pricing.api.outputs import (
    BillingModelOutputSerializer as BillingModelOutputSerializer,
)
from pricing.api.outputs import CostLineOutputSerializer as CostLineOutputSerializer
from pricing.api.outputs import CostOutputSerializer as CostOutputSerializer
from pricing.api.outputs import TierOutputSerializer as TierOutputSerializer
from pricing.api.outputs import billing_model_data as billing_model_data
from pricing.api.outputs import cost_data as cost_data
from pricing.api.views import BillingModelFilter as BillingModelFilter
from pricing.api.views import BillingModelViewSet as BillingModelViewSet
