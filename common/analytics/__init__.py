"""The analytics store: events in monthly DuckDB files, SQL across them, and the HTML report built on it.

Analytics never sit on the path that answers a user; everything here can be rebuilt from the events.
"""

from __future__ import annotations

from common.analytics.query import AnalyticsQueryError, QueryResult, query
from common.analytics.report import render_report
from common.analytics.store import AppendResult, Rejected, append_records, file_name, open_store, period_of

__all__ = [
    "AnalyticsQueryError",
    "AppendResult",
    "QueryResult",
    "Rejected",
    "append_records",
    "file_name",
    "open_store",
    "period_of",
    "query",
    "render_report",
]
