"""Analytics events, the contract between every producer in the product and the analytics store.

A low room on purpose: search, quality, ingestion and Slack all publish events, so the event types and the
publisher interface sit below all of them (`common.analytics` only consumes them).
"""
