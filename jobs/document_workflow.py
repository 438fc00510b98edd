"""Cloud Run job, hourly: publish approved documents that could not be published when they were approved
(Confluence down or refusing), send requests to decide that Slack did not take, and remind approvers who
have not decided within DOC_REVIEW_REMINDER_DAYS. Exits 75 (retryable) while a document still waits."""

from __future__ import annotations

import sys

from common.config import Settings
from common.errors import EXIT_OK, EXIT_UNAVAILABLE
from common.runtime.documents import build_document_service
from common.runtime.jobs import run_job
from common.runtime.store import build_store


def _run(settings: Settings) -> tuple[dict[str, object], int]:
    service = build_document_service(settings, build_store(settings))
    attempted = service.publish_pending()
    still_waiting = [doc.id for doc in attempted if doc.status == "approved"]
    asked = service.remind_due()
    summary = {
        "published": [doc.id for doc in attempted if doc.status == "published"],
        "not_published_yet": still_waiting,
        "approvers_asked": asked,
    }
    return summary, EXIT_UNAVAILABLE if still_waiting else EXIT_OK


def main() -> int:
    return run_job("document_workflow", _run)


if __name__ == "__main__":
    sys.exit(main())
