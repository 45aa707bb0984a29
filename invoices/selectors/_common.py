"""Values shared by the invoicing selectors."""

from decimal import Decimal

ZERO = Decimal(0)
