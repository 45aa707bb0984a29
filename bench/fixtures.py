"""Data the benchmarks share: an organization's customers, created in bulk."""

import numpy as np


def customers_create(*, organization, count: int) -> np.ndarray:
    """Customers ``c0`` to ``c{count-1}`` of ``organization``; their ids, in that
    order."""
    from metering.models import Customer

    Customer.objects.bulk_create(
        [
            Customer(organization=organization, external_id=f"c{i}", name=f"C {i}")
            for i in range(count)
        ],
        batch_size=5000,
    )
    return np.array(
        Customer.objects.filter(organization=organization)
        .order_by("id")
        .values_list("id", flat=True)
    )
