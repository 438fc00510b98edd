"""The chunk: the unit the knowledge base stores, ranks, cites and scores.

`ChunkMetadata` carries every field of the development plan's metadata list plus what ingestion needs. Chroma
accepts only flat str/int/float/bool values, so lists travel as JSON strings and datetimes as ISO strings;
`to_chroma_metadata` and `from_chroma_metadata` are the only two places that know this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from common.errors import ChunkValidationError
from common.store.access import ReadRule

ChunkType = Literal["text", "code", "table", "list"]
Classification = Literal["public", "internal", "confidential"]
DocType = Literal["policy", "how-to", "reference", "FAQ"]
Complexity = Literal["beginner", "intermediate", "advanced"]
Audience = Literal["all-employees", "engineers", "managers", "new-hires", "it-admins", "security"]
SourceKind = Literal["confluence", "folder", "slack"]

CLASSIFICATIONS: tuple[Classification, ...] = get_args(Classification)
"""Least to most confidential: a ceiling admits its own level and every level before it."""


def within_ceiling(level: Classification, ceiling: Classification) -> bool:
    return CLASSIFICATIONS.index(level) <= CLASSIFICATIONS.index(ceiling)


NEUTRAL_QUALITY_SCORE = 50.0
METADATA_SCHEMA_VERSION = 1

JSON_LIST_FIELDS = ("topics", "audience", "parent_headers", "labels")
JSON_RULE_FIELDS = ("read_rules",)
DATETIME_FIELDS = ("created_at", "updated_at", "reviewed_at")
OPTIONAL_FIELDS = ("reviewed_by", "reviewed_at", "assigned_owner")
PARSED_METADATA_CACHE = 20_000
"""Parsed metadata remembered per process (a few kB each): the chunks searches keep finding."""

LEARNED_FIELDS = (
    "quality_score",
    "feedback_score",
    "access_count",
    "feedback_count",
    "reviewed_by",
    "reviewed_at",
    "archived",
    "assigned_owner",
)
"""Fields only this system writes (votes, accesses, reviews, admins' decisions): a re-sync must never
overwrite them."""

PAGE_DECISION_FIELDS = ("archived", "assigned_owner")
"""Learned fields that belong to the page: a chunk a later sync adds to the page inherits them."""

ChromaValue = str | int | float | bool
ChromaMetadata = dict[str, ChromaValue]

CHANGED_AT = "changed_at"
"""Unix seconds of the last write to a chunk, stamped by `ChunkStore` on every write beside the fields
written and not part of `ChunkMetadata`: readers that keep chunks (`common.search.chunk_cache`) ask
Chroma only for those changed since they read them."""

TALLY_FIELDS = ("access_count",)
"""Counters nothing reads from a kept chunk (search neither ranks by nor shows them): a write of these
alone does not move `CHANGED_AT`. The access recorder rewrites them every few seconds for every chunk
shown, which would otherwise make every popular chunk count as changed all the time."""


class ChunkMetadata(BaseModel):
    """Everything Chroma stores about a chunk besides its text and embedding."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Core identifiers
    page_id: str = Field(min_length=1)
    page_title: str = Field(min_length=1)
    chunk_type: ChunkType
    chunk_index: int = Field(ge=0)

    # Source info
    space_key: str = Field(min_length=1)
    url: str
    author: str
    created_at: datetime
    updated_at: datetime

    # Quality (native)
    quality_score: float = Field(NEUTRAL_QUALITY_SCORE, ge=0.0, le=100.0)
    feedback_score: float = Field(
        NEUTRAL_QUALITY_SCORE, ge=0.0, le=100.0, description="What votes alone say; quality adds decay."
    )
    access_count: int = Field(0, ge=0)
    feedback_count: int = Field(0, ge=0)

    # Governance (native)
    owner: str
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    classification: Classification = "internal"
    read_rules: tuple[ReadRule, ...] = ()
    """Every restriction a reader must pass (`common.store.access`); none: every member of the site."""
    restricted: bool = False
    """Whether there is any rule: kept as its own field so Chroma can filter on it (channel answers)."""
    archived: bool = False
    """Hidden from answers and search by a knowledge admin (reversible); the page stays in Confluence."""
    assigned_owner: str | None = None
    """An owner a knowledge admin assigned; it wins over the one Confluence names until unassigned."""

    # AI metadata
    doc_type: DocType = "reference"
    topics: tuple[str, ...] = ()
    audience: tuple[Audience, ...] = ()
    complexity: Complexity = "intermediate"
    summary: str = ""

    # Structure
    parent_headers: tuple[str, ...] = ()

    # Ingestion
    labels: tuple[str, ...] = ()
    source: SourceKind = "confluence"
    page_version: int = Field(1, ge=1)
    content_hash: str = Field(
        min_length=8, description="Of the embedded text and model: unchanged = no re-embed."
    )
    ingested_at: float = Field(ge=0.0, description="Unix seconds, a number so range filters work.")
    language: str = ""
    schema_version: int = METADATA_SCHEMA_VERSION

    @model_validator(mode="before")
    @classmethod
    def _restricted_follows_rules(cls, values: Any) -> Any:
        if isinstance(values, dict):
            values = {**values, "restricted": bool(values.get("read_rules"))}
        return values

    @field_validator("created_at", "updated_at", "reviewed_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


@dataclass(frozen=True, slots=True)
class Chunk:
    """A chunk ready for the store: `embedding` is None only when the caller keeps the stored one."""

    id: str
    text: str
    metadata: ChunkMetadata
    embedding: tuple[float, ...] | None = None


def access_fields(rules: tuple[ReadRule, ...]) -> dict[str, Any]:
    """The partial update that changes who may read a chunk: its rules and the flag Chroma filters on."""
    return {"read_rules": rules, "restricted": bool(rules)}


def to_chroma_metadata(meta: ChunkMetadata) -> ChromaMetadata:
    return {name: _to_chroma_value(name, value) for name, value in meta.model_dump().items()}


def from_chroma_metadata(raw: dict[str, Any], *, chunk_id: str | None = None) -> ChunkMetadata:
    """Parse what Chroma returned; any defect raises `ChunkValidationError` naming the field.

    A search parses up to 200 candidates' metadata, and parsing was a quarter of its Python time (measured
    under 8 concurrent searches), while the same chunks come back search after search unchanged. So the
    parsed model (frozen, safe to share) is remembered by the exact values Chroma returned: any change to a
    chunk's metadata (a vote, a review) is a new key, and the key ignores the order of the fields, which
    Chroma's server returns in no fixed order. A defect is never remembered, and raises every time."""
    try:
        return _parsed(frozenset(raw.items()), chunk_id)
    except TypeError:  # an unhashable value (Chroma allows lists; this product writes none): not remembered
        return _parse(raw, chunk_id)


@lru_cache(maxsize=PARSED_METADATA_CACHE)
def _parsed(items: frozenset[tuple[str, Any]], chunk_id: str | None) -> ChunkMetadata:
    return _parse(dict(items), chunk_id)


def _parse(raw: dict[str, Any], chunk_id: str | None) -> ChunkMetadata:
    values: dict[str, Any] = dict(raw)
    values.pop(CHANGED_AT, None)
    for name in JSON_LIST_FIELDS:
        if name in values:
            values[name] = _json_list(name, values[name], chunk_id)
    for name in JSON_RULE_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = _json_rules(name, values[name], chunk_id)
    for name in OPTIONAL_FIELDS:
        if values.get(name) == "":
            values[name] = None
    try:
        return ChunkMetadata.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "?"
        raise ChunkValidationError(field, first["msg"], chunk_id=chunk_id) from exc


def validate_fields(fields: dict[str, Any], *, chunk_id: str | None = None) -> ChromaMetadata:
    """Check a partial update against the model and return it in Chroma's representation.

    Partial updates are how quality and governance change, so they get the same validation as whole
    records: an unknown field, a wrong type or an out-of-range value is refused before it reaches the store.
    """
    out: ChromaMetadata = {}
    for name, value in fields.items():
        adapter = _field_adapter(name)
        if adapter is None:
            raise ChunkValidationError(name, "not a chunk metadata field", chunk_id=chunk_id)
        try:
            validated = adapter.validate_python(value)
        except ValidationError as exc:
            raise ChunkValidationError(name, exc.errors()[0]["msg"], chunk_id=chunk_id) from exc
        out[name] = _to_chroma_value(name, validated)
    return out


@cache
def _field_adapter(name: str) -> TypeAdapter[Any] | None:
    field = ChunkMetadata.model_fields.get(name)
    if field is None:
        return None
    annotation: Any = field.annotation
    if field.metadata:
        annotation = Annotated[(annotation, *field.metadata)]
    return TypeAdapter(annotation)


def _to_chroma_value(name: str, value: Any) -> ChromaValue:
    if name in JSON_LIST_FIELDS:
        return json.dumps(list(value), ensure_ascii=False)
    if name in JSON_RULE_FIELDS:
        rules = [rule.model_dump(mode="json") if isinstance(rule, ReadRule) else rule for rule in value]
        return json.dumps(rules, ensure_ascii=False, sort_keys=True)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if value is None:
        return ""
    return value  # type: ignore[no-any-return]


def _json_list(field: str, value: Any, chunk_id: str | None) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    if not isinstance(value, str):
        raise ChunkValidationError(
            field, f"expected a JSON array string, got {type(value).__name__}", chunk_id=chunk_id
        )
    try:
        parsed = json.loads(value) if value else []
    except json.JSONDecodeError as exc:
        raise ChunkValidationError(field, f"not valid JSON ({exc.msg})", chunk_id=chunk_id) from exc
    if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
        raise ChunkValidationError(field, "expected a JSON array of strings", chunk_id=chunk_id)
    return tuple(parsed)


def _json_rules(field: str, value: str, chunk_id: str | None) -> list[Any]:
    try:
        parsed = json.loads(value) if value else []
    except json.JSONDecodeError as exc:
        raise ChunkValidationError(field, f"not valid JSON ({exc.msg})", chunk_id=chunk_id) from exc
    if not isinstance(parsed, list):
        raise ChunkValidationError(field, "expected a JSON array of rules", chunk_id=chunk_id)
    return parsed
