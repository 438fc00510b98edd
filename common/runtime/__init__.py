"""Wiring: builds the product's parts from settings, the one place that picks cloud forms or embedded
defaults, and the only code besides the entry points that reads `Settings`.

One module per domain. Importing this package imports nothing, so `common.runtime.webhook` stays as light
as the `slack_events` function needs (no Chroma, no torch).
"""
