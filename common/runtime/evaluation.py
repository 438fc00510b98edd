"""Evaluation: a BEIR corpus's own collection under KB_HOME, searched the three ways the product can; and
golden questions answered exactly as the bot answers in a channel."""

from __future__ import annotations

from pathlib import Path

from common.answers.composer import compose_answer
from common.config import Settings
from common.evaluation.beir import Retrievers, collection_for
from common.evaluation.golden import AnswerProbe, Probe, probe_of
from common.runtime.ai import build_answer_writer, build_embedder
from common.runtime.search import build_keyword_cache, build_retriever
from common.runtime.slack import build_channel_policy
from common.runtime.store import build_store
from common.store.access import Reader
from common.store.chunk_store import ChunkStore


def build_beir_retrievers(settings: Settings, corpus: Path) -> Retrievers:
    store = build_store(settings, collection_name=collection_for(corpus))
    return Retrievers(
        store=store,
        embedder=build_embedder(settings),
        keywords=build_keyword_cache(settings, store),
        hybrid=build_retriever(settings, store),
    )


def build_answer_probe(settings: Settings, store: ChunkStore, reader: Reader) -> AnswerProbe:
    """The channel ceiling, because a channel is where most questions are asked and it is the strictest;
    `reader` decides which restricted pages count. Nothing is recorded as accessed: an evaluation run is
    not a person reading pages, and must not move the signals ranking learns from."""
    retriever = build_retriever(settings, store)
    writer = build_answer_writer(settings)
    ceiling = build_channel_policy(settings).ceiling("channel")

    def probe(question: str) -> Probe:
        return probe_of(
            compose_answer(
                retriever=retriever, writer=writer, question=question, ceiling=ceiling, reader=reader
            )
        )

    return probe
