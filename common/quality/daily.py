"""The daily quality run (the `quality_decay` job and `kb decay`), in the order that keeps it exact.

1. Apply the votes and reviews kept during a Chroma outage, so the sweep decays from what people said.
2. Sweep decay over every chunk (`common.quality.decay`).
3. Publish the collection's quality snapshot for analytics.
4. Tell the owners of pages the sweep pushed under the alert threshold, and deliver the owner notices Slack
   refused earlier.
"""

from __future__ import annotations

from datetime import datetime

from common.events.publishers import EventPublisher
from common.quality.decay import DecayProgress, DecaySummary, run_decay
from common.quality.feedback import FeedbackService
from common.quality.notices import Problem
from common.store.chunk_store import ChunkStore


def run_daily_quality(
    *,
    store: ChunkStore,
    feedback: FeedbackService,
    publisher: EventPublisher,
    now: datetime | None = None,
    progress: DecayProgress | None = None,
) -> DecaySummary:
    feedback.replay_pending()
    summary = run_decay(store, feedback.writer.policy, now=now, progress=progress)
    publisher.publish([summary.report])
    for page_id in summary.pages_fell_under_threshold:
        feedback.notify_owners_of(Problem(page_id=page_id, kind="low_quality"))
    feedback.deliver_pending_notices()
    return summary
