"""Metering fixtures."""

from metering.tests.webhook_receiver import receiver  # noqa: F401 - a fixture
