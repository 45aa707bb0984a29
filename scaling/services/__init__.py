"""Writes of the scaling app, split by sub-domain (metrics, forecasts, provisioning,
recommendations, schedules)."""
