"""Fusing dense and keyword scores."""

from __future__ import annotations

import pytest

from common.search.fusion import convex_fusion, reciprocal_rank_fusion


def test_each_list_is_scaled_by_its_best_score_before_mixing() -> None:
    fused = convex_fusion({"a": 0.8, "b": 0.4}, {"b": 12.0, "c": 6.0}, alpha=0.5)

    assert fused["b"] == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)


def test_a_chunk_missing_from_a_list_gets_that_lists_lowest_score() -> None:
    fused = convex_fusion({"a": 0.8, "b": 0.4}, {"b": 12.0, "c": 6.0}, alpha=0.5)

    assert fused["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.5)
    assert fused["c"] == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)


def test_a_chunk_the_keyword_index_has_not_seen_counts_its_dense_score_for_both() -> None:
    fused = convex_fusion({"new": 0.8, "old": 0.4}, {"old": 12.0, "c": 6.0}, alpha=0.5, unseen={"new"})

    assert fused["new"] == pytest.approx(1.0)
    assert fused["old"] == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)


def test_a_chunk_found_by_both_beats_one_found_by_either_alone() -> None:
    dense = {"both": 0.7, "dense": 0.7, "weak": 0.3}
    fused = convex_fusion(dense, {"both": 5.0, "keyword": 5.0, "rare": 1.0}, alpha=0.5)

    assert max(fused, key=lambda cid: fused[cid]) == "both"


def test_alpha_one_is_dense_only_and_zero_keyword_only() -> None:
    dense, keyword = {"a": 0.9, "b": 0.1}, {"b": 3.0}

    assert convex_fusion(dense, keyword, alpha=1.0) == pytest.approx({"a": 1.0, "b": 0.1 / 0.9})
    assert convex_fusion(dense, keyword, alpha=0.0) == pytest.approx({"a": 1.0, "b": 1.0})


def test_negative_similarities_count_as_no_evidence() -> None:
    assert convex_fusion({"a": -0.2}, {}, alpha=0.5) == {"a": 0.0}


def test_alpha_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        convex_fusion({}, {}, alpha=1.5)


def test_rrf_sums_reciprocal_ranks_across_lists() -> None:
    fused = reciprocal_rank_fusion(["a", "b"], ["b", "c"], k=60)

    assert fused == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 62})
