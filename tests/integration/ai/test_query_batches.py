"""Questions embedded together with those of concurrent searches get the vectors they would get alone, and
a failure reaches every question of its batch without leaving any waiting; the real bundled model."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from common.ai.embeddings import Vectors
from common.ai.query_batches import BatchedEmbedder, batched_queries
from common.config import load_settings
from common.errors import EmbeddingError
from common.runtime.ai import build_embedder

QUESTIONS = [
    "How do I connect to the VPN from home?",
    "How many weeks of parental leave do I get?",
    "How do I reset my password and MFA?",
    "What is the expense limit for a team dinner?",
    "Where do I find the guest Wi-Fi password?",
    "How do I report a phishing email?",
]


class _Counting:
    """The real model, counting the batches it is given and able to hold one until told to go on."""

    def __init__(self) -> None:
        self._model = build_embedder(load_settings())
        self.model_id = self._model.model_id
        self.batches: list[int] = []
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.hold.set()

    @property
    def model_path(self) -> Path:
        return self._model.model_path

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.batches.append(len(texts))
        self.holding.set()
        assert self.hold.wait(60)
        return self._model.embed(texts)


class _Failing(_Counting):
    def embed(self, texts: Sequence[str]) -> Vectors:
        super().embed(texts)
        raise EmbeddingError("the model ran out of memory")


def test_questions_embedded_side_by_side_get_the_vectors_they_get_alone() -> None:
    alone = build_embedder(load_settings())
    batched = BatchedEmbedder(_Counting())

    with ThreadPoolExecutor(max_workers=16) as pool:
        asked = [QUESTIONS[n % len(QUESTIONS)] for n in range(96)]
        vectors = list(pool.map(lambda question: batched.embed([question]), asked))

    for question, vector in zip(asked, vectors, strict=True):
        np.testing.assert_allclose(vector, alone.embed([question]), atol=1e-5)


def test_questions_that_arrive_while_the_model_is_busy_share_the_next_batch() -> None:
    model = _Counting()
    batched = BatchedEmbedder(model)
    model.hold.clear()
    with ThreadPoolExecutor(max_workers=6) as pool:
        first = pool.submit(batched.embed, [QUESTIONS[0]])
        assert model.holding.wait(60)
        waiting = [pool.submit(batched.embed, [question]) for question in QUESTIONS[1:]]
        while batched.waiting < len(waiting):
            threading.Event().wait(0.001)
        model.hold.set()
        results = [first.result(), *(future.result() for future in waiting)]

    assert model.batches == [1, len(QUESTIONS) - 1]
    assert [len(result) for result in results] == [1] * len(QUESTIONS)


def test_a_batch_that_fails_fails_every_question_in_it_and_the_next_ones_are_embedded() -> None:
    failing = _Failing()
    batched = BatchedEmbedder(failing)
    failing.hold.clear()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(batched.embed, [question]) for question in QUESTIONS[:4]]
        assert failing.holding.wait(60)
        failing.hold.set()
        errors = [future.exception(timeout=60) for future in futures]

    assert all(isinstance(error, EmbeddingError) for error in errors)
    assert batched.waiting == 0


def test_a_batch_holds_at_most_the_limit_but_always_one_request() -> None:
    model = _Counting()
    batched = BatchedEmbedder(model, max_batch_texts=2)

    assert batched.embed(QUESTIONS[:3]).shape[0] == 3
    assert model.batches == [3]


def test_every_retriever_of_a_process_shares_one_batcher() -> None:
    embedder = build_embedder(load_settings())

    assert batched_queries(embedder) is batched_queries(embedder)


@pytest.mark.parametrize("texts", [[], QUESTIONS[:2]])
def test_the_vectors_have_one_row_per_text(texts: list[str]) -> None:
    assert BatchedEmbedder(_Counting()).embed(texts).shape[0] == len(texts)
