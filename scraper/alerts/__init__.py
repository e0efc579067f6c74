"""Alerts: routing, delivery, digests, owner notices; channels and their formats."""
