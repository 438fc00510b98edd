"""Standard retrieval metrics over BEIR-format judgements, computed the way BEIR and trec_eval do."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Judgements = Mapping[str, int]
"""Relevance grade by document id for one query (0 = not relevant)."""


def ndcg_at(ranked: Sequence[str], relevant: Judgements, k: int) -> float:
    """Normalised discounted cumulative gain with linear gains, as in BEIR (pytrec_eval `ndcg_cut`)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted((grade for grade in relevant.values() if grade > 0), reverse=True)[:k]
    idcg = sum(grade / math.log2(rank + 2) for rank, grade in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], relevant: Judgements, k: int) -> float:
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    if not wanted:
        return 0.0
    return len(wanted.intersection(ranked[:k])) / len(wanted)


def mrr_at(ranked: Sequence[str], relevant: Judgements, k: int) -> float:
    for rank, doc in enumerate(ranked[:k], start=1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0
