"""How an answer is laid out in Slack: within block limits, sources numbered as cited, markup escaped."""

from __future__ import annotations

import json

from common.answers.writer import Answer, Passage
from common.search.ranking import ScoreParts
from common.search.retriever import SearchResult
from common.slack.answer_blocks import MAX_BLOCKS, SECTION_CHARS, answer_blocks, split_text
from common.slack.channel_policy import ChannelPolicy


def _result(n: int) -> SearchResult:
    return SearchResult(
        chunk_id=f"c{n}",
        chunk_ids=(f"c{n}",),
        text=f"Passage {n}.",
        page_id=f"p{n}",
        page_title=f"Page <{n}>",
        url=f"https://larkspur.example/wiki/p{n}",
        space_key="HB",
        parent_headers=(),
        chunk_type="text",
        owner="priya.raman@larkspur.example",
        updated_at="2026-11-18T16:40:00+00:00",
        reviewed_at=None,
        verified=n == 2,
        classification="internal",
        restricted=False,
        quality_score=50.0,
        scores=ScoreParts(
            dense=1.0,
            keyword=1.0,
            relevance=1.0,
            quality_factor=1.0,
            freshness_bonus=0.0,
            verified_bonus=0.0,
            final=1.0,
        ),
    )


def _blocks(text: str, cited: tuple[int, ...], count: int = 3) -> list[dict[str, object]]:
    results = [_result(n) for n in range(1, count + 1)]
    passages = [
        Passage(number=n, text=r.text, title=r.page_title, url=r.url, chunk_ids=r.chunk_ids)
        for n, r in enumerate(results, start=1)
    ]
    answer = Answer(text=text, cited=cited, grounded=True, writer="offline")
    return answer_blocks(answer=answer, passages=passages, results=results, answer_id="A1", question="q?")


def test_long_text_is_split_into_sections_within_slacks_limit_without_losing_words() -> None:
    text = "\n\n".join(" ".join(f"word{p}-{w}." for w in range(300)) for p in range(6))

    pieces = split_text(text)

    assert all(len(piece) <= SECTION_CHARS for piece in pieces)
    assert " ".join(pieces).split() == text.split()


def test_a_huge_answer_still_fits_in_one_message() -> None:
    blocks = _blocks("x " * 200_000, cited=(1,))

    assert len(blocks) <= MAX_BLOCKS
    assert blocks[-1]["block_id"] == "kb_feedback"


def test_sources_are_numbered_in_the_order_the_answer_cites_them() -> None:
    blocks = _blocks("First fact [3]. Second fact [1].", cited=(3, 1))

    assert blocks[0]["text"]["text"] == "First fact [1]. Second fact [2]."  # type: ignore[index]
    sources = json.dumps(blocks[2:4])
    assert sources.index("*[1]* <https://larkspur.example/wiki/p3") < sources.index(
        "*[2]* <https://larkspur.example/wiki/p1"
    )


def test_quoted_text_cannot_become_slack_markup() -> None:
    blocks = _blocks("Use <type>/<key> & go [1].", cited=(1,))

    assert blocks[0]["text"]["text"] == "Use &lt;type&gt;/&lt;key&gt; &amp; go [1]."  # type: ignore[index]
    assert "Page &lt;1&gt;" in json.dumps(blocks)


def test_a_verified_source_says_so() -> None:
    assert "verified" in json.dumps(_blocks("Fact [1]. Other [2].", cited=(1, 2)))


def test_public_channels_never_get_confidential_content_whatever_the_settings() -> None:
    policy = ChannelPolicy(
        allowed_channels=frozenset(),
        channel_ceiling="confidential",
        private_ceiling="confidential",
        dm_ceiling="confidential",
    )

    assert policy.ceiling("channel") == "internal"
    assert policy.ceiling("group") == policy.ceiling("im") == "confidential"


def test_an_allow_list_limits_channels_but_never_direct_messages() -> None:
    policy = ChannelPolicy(
        allowed_channels=frozenset({"C1"}),
        channel_ceiling="internal",
        private_ceiling="internal",
        dm_ceiling="internal",
    )

    assert policy.answers_in("C1", "channel") and not policy.answers_in("C2", "channel")
    assert policy.answers_in("D9", "im")
