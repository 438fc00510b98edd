"""AI metadata written by an LLM, for deployments that configure one.

The model sees the page's title, labels, headings and opening text and must answer a JSON object with the
five fields; anything outside the allowed values is refused with an error naming the field rather than
stored, because search filters on these values.
"""

from __future__ import annotations

from typing import get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.ai.llm import LlmClient
from common.errors import EnrichmentError
from common.ingestion.enrichment import AiMetadata, PageContent
from common.store.chunk import Audience, Complexity, DocType

PROMPT_TEXT_CHARS = 6000
SYSTEM_PROMPT = """You classify internal company documentation. Answer only with a JSON object:
{"doc_type": one of "policy", "how-to", "reference", "FAQ",
 "topics": up to 8 short lowercase topic keywords,
 "audience": up to 3 of {audiences},
 "complexity": one of "beginner", "intermediate", "advanced",
 "summary": one or two plain sentences (at most 300 characters) saying what the page is for}.
Use only the page content given; do not invent facts.""".replace(
    "{audiences}", ", ".join(f'"{name}"' for name in get_args(Audience))
)


class _LlmAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    doc_type: DocType
    topics: list[str] = Field(max_length=8)
    audience: list[Audience] = Field(max_length=3)
    complexity: Complexity
    summary: str = Field(min_length=1, max_length=400)


class LlmEnricher:
    def __init__(self, client: LlmClient) -> None:
        self._client = client

    def enrich(self, page: PageContent) -> AiMetadata:
        text = "\n\n".join(page.chunk_texts)[:PROMPT_TEXT_CHARS]
        user = (
            f"Title: {page.title}\nLabels: {', '.join(page.labels) or '(none)'}\n"
            f"Headings: {' | '.join(page.headers) or '(none)'}\n\n{text}"
        )
        raw = self._client.complete_json(system=SYSTEM_PROMPT, user=user)
        try:
            answer = _LlmAnswer.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise EnrichmentError(
                f"The LLM's {field!r} for page {page.title!r} is unusable: {first['msg']}"
            ) from exc
        return AiMetadata(
            doc_type=answer.doc_type,
            topics=tuple(t.strip().lower() for t in answer.topics if t.strip()),
            audience=tuple(answer.audience),
            complexity=answer.complexity,
            summary=answer.summary.strip(),
        )
