"""Analytics: events pulled from Pub/Sub (or the spool) into DuckDB files, SQL across them, the HTML report.

Analytics never sit on the path that answers a user; everything here can be rebuilt from the events.
"""
