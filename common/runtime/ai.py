"""The models: the embedder, the LLM client when one is configured, and what is built on them."""

from __future__ import annotations

from common.ai.embeddings import SentenceTransformerEmbedder, get_embedder
from common.ai.llm import OpenAiCompatibleClient, StreamingLlmClient
from common.ai.vertex import AdcToken, VertexGeminiClient, no_credentials
from common.answers.extractive import ExtractiveWriter
from common.answers.llm_writer import LlmAnswerWriter
from common.answers.writer import AnswerWriter
from common.config import Settings
from common.errors import ConfigError
from common.ingestion.enrichment import Enricher, OfflineEnricher
from common.ingestion.llm_enrichment import LlmEnricher


def build_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """One per process and model settings: the model loads once, not per request."""
    return get_embedder(
        settings.embedding_model_path,
        settings.embedding_device,
        settings.embedding_batch_size,
        settings.embedding_threads,
    )


def build_llm_client(settings: Settings) -> StreamingLlmClient:
    """Gemini on Vertex AI (`LLM_PROVIDER=vertex`, Application Default Credentials) or an OpenAI-compatible
    API at `LLM_API_URL`."""
    if settings.llm_provider == "vertex":
        if not settings.gcp_project:
            raise ConfigError(
                "LLM_PROVIDER=vertex needs GCP_PROJECT: the project Vertex AI bills the calls to."
            )
        location = settings.vertex_location
        return VertexGeminiClient(
            base_url=settings.vertex_api_url or f"https://{location}-aiplatform.googleapis.com",
            project=settings.gcp_project,
            location=location,
            model=settings.llm_model_name,
            timeout_seconds=settings.llm_timeout_seconds,
            credentials=no_credentials if settings.vertex_api_url else AdcToken(),
        )
    if settings.llm_api_url is None:
        raise ConfigError("LLM_API_URL is not set; the LLM client is only built when an LLM is configured.")
    return OpenAiCompatibleClient(
        base_url=settings.llm_api_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        model=settings.llm_model_name,
        timeout_seconds=settings.llm_timeout_seconds,
    )


def build_answer_writer(settings: Settings) -> AnswerWriter:
    """The LLM writer only when an LLM is configured; otherwise the extractive one, which needs no network."""
    if settings.llm_configured:
        return build_llm_answer_writer(settings)
    return build_extractive_writer(settings)


def build_llm_answer_writer(settings: Settings) -> LlmAnswerWriter:
    return LlmAnswerWriter(build_llm_client(settings), model=settings.llm_model_name)


def build_extractive_writer(settings: Settings) -> ExtractiveWriter:
    return ExtractiveWriter(build_embedder(settings))


def build_enricher(settings: Settings) -> Enricher:
    """The LLM enricher only when an LLM is configured; otherwise the offline one."""
    if settings.llm_configured:
        return LlmEnricher(build_llm_client(settings))
    return OfflineEnricher(build_embedder(settings))
