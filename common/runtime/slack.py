"""The Slack bot: where it answers, the answer worker, and the interactivity handler."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from common.answers.composer import ComposedAnswer, compose_answer
from common.config import Settings
from common.errors import ConfigError
from common.permissions.access import Access, AccessResolver, conversation_of
from common.quality.page_decisions import PageDecisions
from common.runtime.ai import (
    build_answer_writer,
    build_embedder,
    build_extractive_writer,
    build_llm_answer_writer,
)
from common.runtime.documents import build_document_service, build_drafter
from common.runtime.infra import build_claims, build_web_client
from common.runtime.ingestion import build_indexer
from common.runtime.permissions import build_directory, build_linker
from common.runtime.publishing import build_publisher
from common.runtime.quality import build_feedback
from common.runtime.search import build_access_recorder, build_retriever
from common.runtime.webhook import build_answer_registry
from common.slack.account_links import AccountLinks
from common.slack.answer_stream import AnswerStreaming
from common.slack.answering import AnswerService
from common.slack.channel_policy import ChannelPolicy
from common.slack.client import email_of
from common.slack.document_flow import DocumentFlow, Later, Reply
from common.slack.escalation_flow import EscalationFlow, ReplaceMessage
from common.slack.interactions import InteractionHandler
from common.slack.private_answers import PrivateAnswers
from common.slack.quick_knowledge_flow import QuickKnowledgeFlow
from common.slack.signal_recorder import Rephrasings
from common.store.chunk_store import ChunkStore


def build_channel_policy(settings: Settings) -> ChannelPolicy:
    return ChannelPolicy(
        allowed_channels=settings.slack_channel_ids,
        channel_ceiling=settings.slack_channel_max_classification,
        private_ceiling=settings.slack_private_max_classification,
        dm_ceiling=settings.slack_dm_max_classification,
    )


def build_interaction_handler(settings: Settings, store: ChunkStore) -> InteractionHandler:
    if settings.slack_signing_secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: copy it from the Slack app's Basic Information.")
    publisher = build_publisher(settings)
    slack = build_web_client(settings)

    def quick_knowledge(later: Callable[[Callable[[], None]], None]) -> QuickKnowledgeFlow:
        return QuickKnowledgeFlow(
            slack=slack,
            indexer=lambda: build_indexer(settings, store, source_kind="slack"),
            space_key=settings.slack_knowledge_space,
            later=later,
        )

    def documents(later: Later, reply: Reply) -> DocumentFlow:
        return DocumentFlow(
            slack=slack,
            service=lambda: build_document_service(settings, store),
            drafter=lambda: build_drafter(settings),
            later=later,
            reply=reply,
            email_of=lambda user_id: email_of(slack, user_id),
        )

    linker = cache(lambda: build_linker(settings))  # built on first use, once
    admin_channel = settings.knowledge_admin_channel

    def escalations(later: Later, replace: ReplaceMessage) -> EscalationFlow:
        return EscalationFlow(
            decisions=PageDecisions(store),
            store=store,
            slack=slack,
            publisher=publisher,
            admin_channel=admin_channel or "",
            later=later,
            replace=replace,
        )

    def private_answers(later: Later, reply: ReplaceMessage) -> PrivateAnswers:
        retriever = cache(lambda: build_retriever(settings, store))
        writer = cache(lambda: build_answer_writer(settings))
        resolver = cache(lambda: AccessResolver(linker=linker(), directory=build_directory(settings)))
        ceiling = build_channel_policy(settings).ceiling("im")

        def compose(question: str, access: Access) -> ComposedAnswer:
            return compose_answer(
                retriever=retriever(),
                writer=writer(),
                question=question,
                ceiling=ceiling,
                reader=access.reader,
            )

        def access_of(user_id: str) -> Access:
            return resolver().for_slack_user(
                user_id, conversation_of("im"), email=lambda: email_of(slack, user_id)
            )

        return PrivateAnswers(
            compose=compose,
            access_of=access_of,
            links=AccountLinks(linker=linker, slack=slack, later=later),
            publisher=publisher,
            later=later,
            reply=reply,
        )

    return InteractionHandler(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        feedback=build_feedback(settings, store, publisher=publisher),
        slack=slack,
        publisher=publisher,
        quick_knowledge=quick_knowledge,
        documents=documents,
        account_links=lambda later: AccountLinks(linker=linker, slack=slack, later=later),
        escalations=escalations if admin_channel else None,
        private_answers=private_answers,
    )


def build_answer_service(settings: Settings, store: ChunkStore) -> AnswerService:
    recorder = build_access_recorder(settings, store)
    recorder.start()
    slack = build_web_client(settings)
    directory = build_directory(settings)
    linker = build_linker(settings, directory)
    registry = build_answer_registry(settings)
    embedder = build_embedder(settings)
    return AnswerService(
        slack=slack,
        retriever=build_retriever(settings, store),
        writer=build_answer_writer(settings),
        streaming=build_answer_streaming(settings),
        claims=build_claims(settings, "answered-events", lease_seconds=settings.answer_claim_lease_seconds),
        policy=build_channel_policy(settings),
        access=AccessResolver(linker=linker, directory=directory),
        links=AccountLinks(linker=lambda: linker, slack=slack, later=lambda task: task()),
        recorder=recorder,
        publisher=build_publisher(settings),
        registry=registry,
        rephrasings=Rephrasings(
            registry=registry,
            embed=lambda text: embedder.embed([text])[0],
            publisher=build_publisher(settings),
            window_seconds=settings.signal_rephrase_minutes * 60,
            similarity=settings.signal_rephrase_similarity,
        ),
    )


def build_answer_streaming(settings: Settings) -> AnswerStreaming | None:
    """Streaming needs a writer that writes as it goes (an LLM); the extractive one is its fallback."""
    if not (settings.llm_configured and settings.slack_stream_answers):
        return None
    return AnswerStreaming(
        writer=build_llm_answer_writer(settings),
        fallback=build_extractive_writer(settings),
        buffer_chars=settings.slack_stream_buffer_chars,
    )
