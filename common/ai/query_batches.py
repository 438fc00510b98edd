"""Questions that arrive together are embedded together.

A search embeds one short question, and on a CPU most of that forward pass is fixed cost: on 2 cores one
question alone took 22 ms, eight in one batch 7 ms each (measured). So concurrent searches in one process
take turns at the model, and each turn embeds every question waiting when it begins. Nobody waits for a
batch to fill: a question that arrives at an idle model is embedded at once, as before, and batches form only
when requests overlap, which is exactly when the time matters.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from common.ai.embeddings import Embedder, SentenceTransformerEmbedder, Vectors
from common.errors import EmbeddingError

MAX_BATCH_TEXTS = 64
"""Texts in one turn: beyond this the batch costs more in waiting than it saves."""


@dataclass(slots=True)
class _Request:
    texts: list[str]
    vectors: Vectors | None = None
    error: EmbeddingError | None = None
    done: bool = False


class BatchedEmbedder:
    """An `Embedder` for many threads asking for a few texts each; the vectors are the wrapped embedder's."""

    def __init__(self, inner: Embedder, *, max_batch_texts: int = MAX_BATCH_TEXTS) -> None:
        self._inner = inner
        self._max = max_batch_texts
        self._turn = threading.Lock()
        self._waiting_lock = threading.Lock()
        self._waiting: list[_Request] = []
        self.model_id = inner.model_id

    @property
    def model_path(self) -> Path:
        return self._inner.model_path

    @property
    def waiting(self) -> int:
        """Requests waiting for a turn: how far demand is ahead of the model."""
        with self._waiting_lock:
            return len(self._waiting)

    def embed(self, texts: Sequence[str]) -> Vectors:
        request = _Request(list(texts))
        with self._waiting_lock:
            self._waiting.append(request)
        with self._turn:
            while not request.done:
                self._run_turn()
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def _run_turn(self) -> None:
        """Embed the oldest waiting requests, as many as fit in one batch (at least one)."""
        batch = self._take_batch()
        try:
            vectors = self._inner.embed([text for request in batch for text in request.texts])
        except EmbeddingError as exc:
            _fail(batch, exc)
            return
        except BaseException:  # a bug: the asker running the turn gets it, nobody is left waiting
            _fail(
                batch, EmbeddingError("Embedding failed unexpectedly; the error is logged with its search.")
            )
            raise
        start = 0
        for request in batch:
            request.vectors = np.ascontiguousarray(vectors[start : start + len(request.texts)])
            request.done = True
            start += len(request.texts)

    def _take_batch(self) -> list[_Request]:
        with self._waiting_lock:
            taken, size = 0, 0
            for request in self._waiting:
                if taken and size + len(request.texts) > self._max:
                    break
                size += len(request.texts)
                taken += 1
            batch, self._waiting = self._waiting[:taken], self._waiting[taken:]
        return batch


def _fail(batch: list[_Request], error: EmbeddingError) -> None:
    for request in batch:
        request.error, request.done = error, True


@cache
def batched_queries(embedder: SentenceTransformerEmbedder) -> BatchedEmbedder:
    """One per process and model, shared by every retriever, so all of its searches batch together."""
    return BatchedEmbedder(embedder)
