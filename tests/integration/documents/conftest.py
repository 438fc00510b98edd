"""The document workflow on one machine (a folder under KB_HOME) and across instances (a bucket)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from common.config import load_settings
from common.documents.store import WorkflowStore
from common.documents.workflow import DocumentWorkflow
from common.runtime.infra import build_versioned_files

WorkflowFactory = Callable[..., DocumentWorkflow]


@pytest.fixture(params=["folder", "bucket"])
def make_workflow(request: pytest.FixtureRequest) -> WorkflowFactory:
    """Each call is another instance on the same state, as `build_document_workflow` makes it."""
    if request.param == "bucket":
        request.getfixturevalue("gcs_bucket")
    settings = load_settings()
    return lambda **options: DocumentWorkflow(
        WorkflowStore(build_versioned_files(settings, "workflow")), **options
    )
