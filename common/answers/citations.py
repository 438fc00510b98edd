"""Citation markers in an answer's text: `[n]` or `[n, m]` right after the fact they support."""

from __future__ import annotations

import re
from collections.abc import Set

MARKER = re.compile(r"(\s*)\[(\d+(?:\s*,\s*\d+)*)\]")


def known_markers(text: str, numbers: Set[int]) -> str:
    """Each marker keeps only the passages that exist, written `[1][2]`; a marker left citing nothing goes,
    with the space before it. Applied alike to a finished answer and to the part of one already shown."""

    def keep(match: re.Match[str]) -> str:
        kept = [n for n in (int(x) for x in match.group(2).split(",")) if n in numbers]
        return match.group(1) + "".join(f"[{n}]" for n in kept) if kept else ""

    return MARKER.sub(keep, text)
