"""Parallel sync tasks split the spaces between them without overlap or gaps."""

from __future__ import annotations

import pytest

from common.errors import ConfigError
from common.infra.sharding import shard

SPACES = ["OPS", "HB", "ENG", "SEC", "HR"]


def test_every_space_goes_to_exactly_one_task() -> None:
    parts = [shard(SPACES, index=i, count=3) for i in range(3)]

    assert sorted(s for part in parts for s in part) == sorted(SPACES)


def test_a_single_task_gets_everything() -> None:
    assert shard(SPACES, index=0, count=1) == sorted(SPACES)


def test_index_outside_the_count_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="CLOUD_RUN_TASK_INDEX"):
        shard(SPACES, index=3, count=3)
