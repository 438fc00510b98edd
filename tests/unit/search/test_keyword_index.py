"""BM25 keyword ranking over chunks: stemmed, stopword-free, saved and loaded as an artifact."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import KeywordIndexError
from common.search.keyword_index import IndexedText, KeywordIndex, indexed_text

DOCS = [
    IndexedText(
        "vpn",
        indexed_text(page_title="VPN Setup", parent_headers=("Connecting",), text="Open GlobalProtect."),
    ),
    IndexedText("leave", "Parental leave: every new parent gets sixteen weeks of paid leave."),
    IndexedText("expenses", "Submit expenses in Expensify within 30 days of travelling."),
]


def _index() -> KeywordIndex:
    return KeywordIndex.build(DOCS, built_at=1_700_000_000.0)


def test_the_chunk_sharing_the_querys_terms_ranks_first() -> None:
    hits = _index().search("How many weeks of parental leave?", k=3)

    assert hits[0].chunk_id == "leave"


def test_words_match_across_inflections() -> None:
    assert _index().search("connect to the vpn", k=1)[0].chunk_id == "vpn"
    assert _index().search("travel expense", k=1)[0].chunk_id == "expenses"


def test_title_and_headings_are_searchable() -> None:
    assert _index().search("setup", k=1)[0].chunk_id == "vpn"


def test_a_query_of_stopwords_or_unknown_words_finds_nothing() -> None:
    assert _index().search("what is the", k=3) == []
    assert _index().search("zyxwvut", k=3) == []


def test_an_empty_index_finds_nothing() -> None:
    assert KeywordIndex.build([], built_at=0.0).search("vpn", k=3) == []


def test_save_then_load_gives_the_same_results_and_build_time(tmp_path: Path) -> None:
    index = _index()
    index.save(tmp_path / "kw")

    loaded = KeywordIndex.load(tmp_path / "kw")

    assert loaded.search("parental leave", k=3) == index.search("parental leave", k=3)
    assert loaded.built_at == index.built_at


def test_loading_a_missing_index_says_how_it_is_rebuilt(tmp_path: Path) -> None:
    with pytest.raises(KeywordIndexError, match="kb sync"):
        KeywordIndex.load(tmp_path / "nothing-here")


def test_loading_a_damaged_manifest_is_a_clear_error(tmp_path: Path) -> None:
    _index().save(tmp_path / "kw")
    (tmp_path / "kw" / "manifest.json").write_text("{not json")

    with pytest.raises(KeywordIndexError, match="damaged"):
        KeywordIndex.load(tmp_path / "kw")
