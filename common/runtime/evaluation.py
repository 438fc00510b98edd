"""Evaluation: a BEIR corpus's own collection under KB_HOME, searched the three ways the product can."""

from __future__ import annotations

from pathlib import Path

from common.config import Settings
from common.evaluation.beir import Retrievers, collection_for
from common.runtime.ai import build_embedder
from common.runtime.search import build_keyword_cache, build_retriever
from common.runtime.store import build_store


def build_beir_retrievers(settings: Settings, corpus: Path) -> Retrievers:
    store = build_store(settings, collection_name=collection_for(corpus))
    return Retrievers(
        store=store,
        embedder=build_embedder(settings),
        keywords=build_keyword_cache(settings, store),
        hybrid=build_retriever(settings, store),
    )
