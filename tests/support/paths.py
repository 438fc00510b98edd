"""Where tests find real-world input: `../shared` beside the repository (read in place, never copied), or
`KB_SHARED_DIR` where the layout differs (Cloud Build fetches it into the workspace)."""

from __future__ import annotations

import os
from pathlib import Path

from common.config import SAMPLE_SPACE_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KB_SHARED_DIR") or REPO_ROOT.parent / "shared")
FIXTURES = SHARED / "fixtures"
STORAGE_FORMAT_FIXTURES = FIXTURES / "confluence" / "storage_format"
REST_API_FIXTURES = FIXTURES / "confluence" / "rest_api_json"
SAMPLE_SPACE = SAMPLE_SPACE_DIR
