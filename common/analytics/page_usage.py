"""How each page was used, from every analytics file: the usage half of the obsolescence rule
(`common.quality.obsolescence`).

- Shown: the Slack answers that listed the page among their sources, once per answer however many of its
  chunks were shown. Only Slack counts, because only there can a source be opened, and a page that could
  not be opened says nothing by not being opened.
- Source clicks: `source_click` signals, whose `detail` is the opened URL; the caller maps URLs to pages
  (from the chunks' metadata) and a click on a URL no page has is not counted.
- Votes: one per person and answer on the page (a vote on an answer is stored once per cited chunk), their
  latest kind; negative are `not_helpful`, `outdated` and `incorrect`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urldefrag

from common.analytics.query import period_views, run
from common.quality.obsolescence import PageUsage
from common.store.votes import NEGATIVE_VOTE_KINDS

_SHOWN = """
SELECT page_id, count(DISTINCT query_id) FROM chunk_access_log WHERE source = 'slack' GROUP BY page_id"""

_CLICKS = "SELECT detail, count(*) FROM behavioral_signals WHERE signal = 'source_click' GROUP BY detail"

_VOTES = """
SELECT page_id, count(*), count(*) FILTER (WHERE list_contains($1, vote)) FROM (
  SELECT page_id, vote FROM user_feedback
  QUALIFY row_number() OVER (
    PARTITION BY page_id, answer_id, user_id ORDER BY occurred_at DESC, event_id DESC) = 1
) GROUP BY page_id"""


def page_usage(paths: Sequence[Path], *, pages_by_url: Mapping[str, str]) -> dict[str, PageUsage]:
    """Usage by page id, for every page that appears in the events; `pages_by_url` maps a page's URL
    (without its fragment) to its id (`common.quality.obsolescence.pages_by_url`)."""
    with period_views(paths) as conn:
        shown = dict(run(conn, _SHOWN).rows)
        clicked = run(conn, _CLICKS).rows
        votes = {
            page: (total, negative)
            for page, total, negative in run(conn, _VOTES, [list(NEGATIVE_VOTE_KINDS)]).rows
        }
    clicks: dict[str, int] = {}
    for url, count in clicked:
        page_id = pages_by_url.get(urldefrag(url).url)
        if page_id is not None:
            clicks[page_id] = clicks.get(page_id, 0) + count
    return {
        page_id: PageUsage(
            shown=shown.get(page_id, 0),
            source_clicks=clicks.get(page_id, 0),
            votes=votes.get(page_id, (0, 0))[0],
            negative_votes=votes.get(page_id, (0, 0))[1],
        )
        for page_id in {*shown, *clicks, *votes}
    }
