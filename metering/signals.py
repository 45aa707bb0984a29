"""Signals metering sends to the apps above it."""

from django.dispatch import Signal

# Sent after a batch of usage events is stored, with ``organization``,
# ``customer_ids`` (those of the batch's customers that have spend alerts) and
# ``now`` (the receive time). The invoicing app evaluates spend alerts on it.
usage_batch_stored = Signal()
