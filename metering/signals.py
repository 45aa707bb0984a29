"""Signals metering sends to the apps above it."""

from django.dispatch import Signal

# Sent after a batch of usage events is committed, with ``organization``,
# ``customer_ids`` (the customers the batch stored events for) and ``now`` (the
# receive time). The invoicing app evaluates spend alerts on it.
usage_batch_stored = Signal()
