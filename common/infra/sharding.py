"""Splitting work between the parallel tasks of one Cloud Run job execution."""

from __future__ import annotations

from collections.abc import Sequence

from common.errors import ConfigError


def shard(items: Sequence[str], *, index: int, count: int) -> list[str]:
    """The items task `index` of `count` owns: a stable round-robin over the sorted items."""
    if count < 1 or not 0 <= index < count:
        raise ConfigError(f"CLOUD_RUN_TASK_INDEX={index} must be in [0, CLOUD_RUN_TASK_COUNT={count}).")
    return [item for position, item in enumerate(sorted(items)) if position % count == index]
