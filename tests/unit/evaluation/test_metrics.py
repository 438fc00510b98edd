"""nDCG, recall and MRR as BEIR computes them."""

from __future__ import annotations

import math

import pytest

from common.evaluation.metrics import mrr_at, ndcg_at, recall_at


def test_perfect_ranking_has_ndcg_one() -> None:
    assert ndcg_at(["a", "b", "x"], {"a": 1, "b": 1}, 10) == pytest.approx(1.0)


def test_ndcg_discounts_a_relevant_document_by_its_rank() -> None:
    assert ndcg_at(["x", "a"], {"a": 1}, 10) == pytest.approx(1 / math.log2(3))


def test_ndcg_ignores_documents_below_the_cutoff() -> None:
    assert ndcg_at(["x", "y", "a"], {"a": 1}, 2) == 0.0


def test_recall_is_the_share_of_relevant_documents_retrieved() -> None:
    assert recall_at(["a", "x", "y"], {"a": 1, "b": 1}, 100) == 0.5


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_document() -> None:
    assert mrr_at(["x", "y", "a", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(1 / 3)


def test_no_relevant_documents_scores_zero_everywhere() -> None:
    assert (ndcg_at(["a"], {}, 10), recall_at(["a"], {}, 10), mrr_at(["a"], {}, 10)) == (0.0, 0.0, 0.0)
