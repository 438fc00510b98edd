"""The analytics events a process spooled under KB_HOME (the embedded default's publisher)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def spooled_events(kb_home: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((kb_home / "spool").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
