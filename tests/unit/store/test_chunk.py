"""The chunk metadata model and its one conversion to and from Chroma's flat values."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from common.errors import ChunkValidationError
from common.store.chunk import ChunkMetadata, from_chroma_metadata, to_chroma_metadata, validate_fields
from tests.support.chunks import make_chunk

PLAN_FIELDS = {
    "page_id",
    "page_title",
    "chunk_type",
    "chunk_index",
    "space_key",
    "url",
    "author",
    "created_at",
    "updated_at",
    "quality_score",
    "access_count",
    "feedback_count",
    "owner",
    "reviewed_by",
    "reviewed_at",
    "classification",
    "doc_type",
    "topics",
    "audience",
    "complexity",
    "summary",
    "parent_headers",
}


def test_model_carries_every_field_of_the_development_plan() -> None:
    assert set(ChunkMetadata.model_fields) >= PLAN_FIELDS


def test_chroma_metadata_holds_only_flat_values() -> None:
    flat = to_chroma_metadata(make_chunk().metadata)

    assert all(isinstance(value, str | int | float | bool) for value in flat.values())


def test_lists_are_stored_as_json_arrays_and_datetimes_as_iso_strings() -> None:
    flat = to_chroma_metadata(make_chunk(parent_headers=("Setup", "Linux")).metadata)

    assert json.loads(str(flat["parent_headers"])) == ["Setup", "Linux"]
    assert flat["updated_at"] == "2026-09-14T00:00:00+00:00"


def test_unset_review_is_stored_as_empty_string_and_read_back_as_none() -> None:
    meta = make_chunk().metadata
    flat = to_chroma_metadata(meta)

    assert flat["reviewed_at"] == ""
    assert from_chroma_metadata(flat).reviewed_at is None


def test_round_trip_through_chroma_values_is_lossless() -> None:
    meta = make_chunk(
        reviewed_by="tom@larkspur.example", reviewed_at=datetime(2026, 10, 1, tzinfo=UTC)
    ).metadata

    assert from_chroma_metadata(to_chroma_metadata(meta)) == meta


def test_malformed_record_names_the_field_and_chunk() -> None:
    flat = to_chroma_metadata(make_chunk().metadata) | {"topics": "[broken"}

    with pytest.raises(ChunkValidationError, match=r"'topics' in chunk 'c-1'"):
        from_chroma_metadata(flat, chunk_id="c-1")


def test_unknown_chunk_type_is_refused() -> None:
    flat = to_chroma_metadata(make_chunk().metadata) | {"chunk_type": "image"}

    with pytest.raises(ChunkValidationError, match="chunk_type"):
        from_chroma_metadata(flat)


def test_missing_required_field_is_named() -> None:
    flat = to_chroma_metadata(make_chunk().metadata)
    del flat["owner"]

    with pytest.raises(ChunkValidationError, match="owner"):
        from_chroma_metadata(flat)


def test_partial_update_is_validated_and_converted() -> None:
    converted = validate_fields(
        {"quality_score": 80, "reviewed_at": "2026-11-01T09:00:00Z", "topics": ["vpn"]}
    )

    assert converted == {
        "quality_score": 80.0,
        "reviewed_at": "2026-11-01T09:00:00+00:00",
        "topics": '["vpn"]',
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quality_score": 101}, "quality_score"),
        ({"access_count": -1}, "access_count"),
        ({"classification": "secret"}, "classification"),
        ({"no_such_field": 1}, "no_such_field"),
    ],
)
def test_partial_update_refuses_bad_values_naming_the_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ChunkValidationError, match=field):
        validate_fields(fields)


def test_naive_datetimes_are_taken_as_utc() -> None:
    meta = make_chunk(created_at=datetime(2025, 1, 1, 12, 0)).metadata

    assert meta.created_at.tzinfo is not None


def test_metadata_read_again_in_another_field_order_is_the_same_parsed_model() -> None:
    flat = to_chroma_metadata(make_chunk().metadata)

    first = from_chroma_metadata(flat, chunk_id="c-1")
    again = from_chroma_metadata(dict(reversed(list(flat.items()))), chunk_id="c-1")

    assert again is first


def test_metadata_that_changed_is_parsed_anew() -> None:
    flat = to_chroma_metadata(make_chunk().metadata)
    before = from_chroma_metadata(flat, chunk_id="c-1")

    after = from_chroma_metadata(flat | {"quality_score": 80.0, "feedback_count": 3}, chunk_id="c-1")

    assert (before.quality_score, after.quality_score, after.feedback_count) == (50.0, 80.0, 3)


def test_a_defect_is_refused_every_time_it_is_read() -> None:
    flat = to_chroma_metadata(make_chunk().metadata) | {"chunk_index": "seven"}

    for _ in range(2):
        with pytest.raises(ChunkValidationError, match="chunk_index"):
            from_chroma_metadata(flat, chunk_id="c-1")
