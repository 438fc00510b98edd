"""Cutting parsed pages into chunk drafts that the embedding model reads whole, with keys that stay put."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from common.ai.tokens import count_tokens
from common.confluence.storage_format import (
    Block,
    Code,
    Heading,
    ListBlock,
    Panel,
    Paragraph,
    Table,
    parse_storage_format,
)
from common.errors import ChunkValidationError
from common.ingestion.chunk_identity import embedding_input
from common.ingestion.chunking import ChunkDraft, chunk_page
from tests.support.paths import STORAGE_FORMAT_FIXTURES

ALL_FIXTURES = sorted(STORAGE_FORMAT_FIXTURES.glob("*.storage.xhtml"))
MAX_TOKENS = 256
"""The bundled model's limit, which CHUNK_MAX_TOKENS defaults to."""
TITLE = "Operations handbook"
WORDS = ["deploy", "the", "service", "rollback", "naïve", "x86_64", "€42.50", "e.g.", "(see)"]


def fixture_blocks(name: str) -> tuple[Block, ...]:
    return parse_storage_format((STORAGE_FORMAT_FIXTURES / name).read_text(encoding="utf-8")).blocks


def model_tokens(draft: ChunkDraft, title: str = TITLE) -> int:
    """What the model sees: the exact embedding input, special tokens included."""
    text = embedding_input(page_title=title, parent_headers=draft.parent_headers, text=draft.text)
    return count_tokens(text)


def assert_all_fit(drafts: Sequence[ChunkDraft], max_tokens: int = 256, title: str = TITLE) -> None:
    assert drafts
    assert all(model_tokens(draft, title) <= max_tokens for draft in drafts)


def prose(words: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + ("." if index % 17 == 16 else "") for index in range(words))


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda path: path.name.split("__")[1])
def test_every_chunk_of_every_fixture_fits_the_model(path: Path) -> None:
    drafts = chunk_page(title=TITLE, blocks=fixture_blocks(path.name), max_tokens=MAX_TOKENS)

    assert_all_fit(drafts)


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda path: path.name.split("__")[1])
def test_every_fixture_chunk_fits_a_small_budget_too(path: Path) -> None:
    drafts = chunk_page(title=TITLE, blocks=fixture_blocks(path.name), max_tokens=48)

    assert_all_fit(drafts, max_tokens=48)


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda path: path.name.split("__")[1])
def test_keys_are_unique_within_a_page(path: Path) -> None:
    keys = [draft.key for draft in chunk_page(title=TITLE, blocks=fixture_blocks(path.name), max_tokens=64)]

    assert len(keys) == len(set(keys))


def test_a_3000_word_paragraph_splits_within_budget_and_loses_no_word() -> None:
    paragraph = prose(3000)
    drafts = chunk_page(title=TITLE, blocks=[Paragraph(paragraph)], max_tokens=MAX_TOKENS)

    assert_all_fit(drafts)
    assert len(drafts) > 10
    assert " ".join(draft.text for draft in drafts).split() == paragraph.split()


def test_a_400_row_table_repeats_its_header_in_every_chunk() -> None:
    rows = tuple((f"svc-{index}", f"team {index % 7}", prose(12, seed=index)) for index in range(400))
    drafts = chunk_page(
        title=TITLE, blocks=[Table(header=("Service", "Owner", "Notes"), rows=rows)], max_tokens=MAX_TOKENS
    )

    assert_all_fit(drafts)
    assert len(drafts) > 10
    assert all(draft.text.split("\n")[0] == "Service | Owner | Notes" for draft in drafts)


def test_a_split_table_keeps_every_row_whole_and_once() -> None:
    rows = tuple((f"svc-{index}", prose(12, seed=index)) for index in range(400))
    drafts = chunk_page(
        title=TITLE, blocks=[Table(header=("Service", "Notes"), rows=rows)], max_tokens=MAX_TOKENS
    )

    lines = [line for draft in drafts for line in draft.text.split("\n")[1:]]
    assert lines == [Table.render_row(row) for row in rows]


def test_a_600_line_code_block_splits_at_line_boundaries_verbatim() -> None:
    code = "\n".join(f"    result_{index} = compute({index}, 'x')  # step {index}" for index in range(600))
    drafts = chunk_page(title=TITLE, blocks=[Code(text=code, language="python")], max_tokens=MAX_TOKENS)

    assert_all_fit(drafts)
    assert len(drafts) > 10
    assert "\n".join(draft.text for draft in drafts) == code
    assert {draft.language for draft in drafts} == {"python"}


def test_a_long_list_splits_at_item_boundaries() -> None:
    items = tuple(f"- step {index}: {prose(10, seed=index)}" for index in range(300))
    drafts = chunk_page(title=TITLE, blocks=[ListBlock(items=items)], max_tokens=MAX_TOKENS)

    assert_all_fit(drafts)
    assert [line for draft in drafts for line in draft.text.split("\n")] == list(items)


def test_a_word_longer_than_the_budget_is_cut() -> None:
    drafts = chunk_page(
        title=TITLE, blocks=[Paragraph("x" * 5000), Code(text="y" * 3000)], max_tokens=MAX_TOKENS
    )

    assert_all_fit(drafts)
    assert "".join(draft.text for draft in drafts) == "x" * 5000 + "y" * 3000


def test_the_guarantee_holds_even_when_counts_do_not_add_up() -> None:
    def chars(text: str) -> int:  # separators count here, so summed pieces undercount every chunk
        return 2 + len(text) // 4 + text.count("\n") * 3

    rows = (*((f"r{index}", prose(6, seed=index)) for index in range(60)), ("long", "z" * 400))
    blocks: list[Block] = [
        Paragraph(prose(500)),
        Table(header=("Key", "Value"), rows=rows),
        ListBlock(items=("- a",) * 90),
    ]
    drafts = chunk_page(title=TITLE, blocks=blocks, max_tokens=64, count_tokens=chars)

    assert drafts
    assert all(
        chars(embedding_input(page_title=TITLE, parent_headers=draft.parent_headers, text=draft.text)) <= 64
        for draft in drafts
    )


def test_headings_become_the_parent_headers_of_what_follows() -> None:
    blocks = fixture_blocks("xwiki__madinlinecomments__table_inline-comment-markers.storage.xhtml")
    drafts = chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)

    numbered = next(draft for draft in drafts if draft.chunk_type == "list")
    assert numbered.parent_headers == (
        "Random title with annotated part and words after",
        "Completely annotated title",
    )


def test_text_before_the_first_heading_has_no_parent_headers() -> None:
    drafts = chunk_page(
        title=TITLE,
        blocks=[Paragraph("Intro."), Heading(1, "Setup"), Paragraph("Steps.")],
        max_tokens=MAX_TOKENS,
    )

    assert [(draft.text, draft.parent_headers) for draft in drafts] == [
        ("Intro.", ()),
        ("Steps.", ("Setup",)),
    ]


def test_a_heading_replaces_its_siblings_and_deeper_levels_in_the_path() -> None:
    blocks: list[Block] = [Heading(1, "Guide"), Heading(2, "Linux"), Heading(3, "Apt"), Heading(2, "Mac")]
    blocks.append(Paragraph("Brew."))

    [brew] = [d for d in chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS) if d.text == "Brew."]
    assert brew.parent_headers == ("Guide", "Mac")


def test_minor_headings_are_prose_not_parent_headers() -> None:
    drafts = chunk_page(
        title=TITLE,
        blocks=[Heading(2, "Setup"), Heading(4, "Tip"), Paragraph("Use sudo.")],
        max_tokens=MAX_TOKENS,
    )

    assert [(draft.text, draft.parent_headers) for draft in drafts] == [("Tip\nUse sudo.", ("Setup",))]


def test_consecutive_prose_and_panels_merge_into_one_text_chunk() -> None:
    blocks: list[Block] = [
        Paragraph("First."),
        Panel(kind="warning", title="", body="Careful."),
        Paragraph("Last."),
    ]
    drafts = chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)

    assert [draft.text for draft in drafts] == ["First.\nWarning: Careful.\nLast."]


def test_panels_keep_their_kind_in_the_chunk_text() -> None:
    drafts = chunk_page(
        title=TITLE,
        blocks=fixture_blocks("xwiki__misc2__info-note-tip-plantuml_children.storage.xhtml"),
        max_tokens=MAX_TOKENS,
    )

    text = next(draft.text for draft in drafts if draft.chunk_type == "text")
    assert "Tip: My title\nHello tip" in text
    assert "Note: My title\nHello note" in text


def test_prose_never_merges_across_a_heading() -> None:
    drafts = chunk_page(
        title=TITLE, blocks=[Paragraph("A."), Heading(2, "B"), Paragraph("C.")], max_tokens=MAX_TOKENS
    )

    assert [draft.text for draft in drafts] == ["A.", "C."]


def test_code_tables_and_lists_become_chunks_of_their_own_type() -> None:
    blocks: list[Block] = [
        Paragraph("Before."),
        Code(text="make test", language="bash"),
        Table(header=("A", "B"), rows=(("1", "2"),)),
        ListBlock(items=("- one",)),
        Paragraph("After."),
    ]
    drafts = chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)

    assert [(draft.chunk_type, draft.language) for draft in drafts] == [
        ("text", ""),
        ("code", "bash"),
        ("table", ""),
        ("list", ""),
        ("text", ""),
    ]


def test_fixture_code_chunks_carry_their_language() -> None:
    drafts = chunk_page(
        title=TITLE,
        blocks=fixture_blocks("xwiki__codett__code-macro_ri-page.storage.xhtml"),
        max_tokens=MAX_TOKENS,
    )

    sql = [draft.text for draft in drafts if (draft.chunk_type, draft.language) == ("code", "sql")]
    assert sql and sql[0].endswith("\nselect 1")


def test_fixture_tables_repeat_their_header_in_every_chunk() -> None:
    blocks = fixture_blocks("xwiki__table__tables.storage.xhtml")
    drafts = chunk_page(title=TITLE, blocks=blocks, max_tokens=80)
    header = " | ".join(
        f"Text {where} in this column" for where in ("left aligned", "centered", "right aligned")
    )

    first_table = [draft for draft in drafts if draft.chunk_type == "table"][:3]
    assert all(header in draft.text.split("\n") for draft in first_table)


def test_a_lead_in_ending_in_a_colon_travels_with_the_list_it_introduces() -> None:
    drafts = chunk_page(
        title=TITLE,
        blocks=fixture_blocks("xwiki__nested__panel_task-list_space-home.storage.xhtml"),
        max_tokens=MAX_TOKENS,
    )

    tasks = next(draft for draft in drafts if draft.chunk_type == "list")
    assert tasks.text.startswith("Start editing this page:\n[ ] Click the pencil icon")
    assert not any("Start editing" in draft.text for draft in drafts if draft.chunk_type == "text")


def test_a_lead_in_travels_with_code_too() -> None:
    drafts = chunk_page(
        title=TITLE,
        blocks=[Paragraph("Run this:"), Code(text="make test", language="bash")],
        max_tokens=MAX_TOKENS,
    )

    assert [(draft.chunk_type, draft.text) for draft in drafts] == [("code", "Run this:\nmake test")]


def test_a_paragraph_not_ending_in_a_colon_stays_prose() -> None:
    drafts = chunk_page(
        title=TITLE, blocks=[Paragraph("Run this."), Code(text="make test")], max_tokens=MAX_TOKENS
    )

    assert [draft.chunk_type for draft in drafts] == ["text", "code"]


def test_only_the_first_chunk_of_a_split_table_carries_the_lead_in() -> None:
    rows = tuple((f"svc-{index}", prose(12, seed=index)) for index in range(100))
    blocks: list[Block] = [Paragraph("Services:"), Table(header=("Name", "Notes"), rows=rows)]
    drafts = chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)

    assert [draft.text.startswith("Services:\nName | Notes\n") for draft in drafts[:2]] == [True, False]


def test_editing_one_section_changes_only_that_sections_chunks() -> None:
    blocks = fixture_blocks("xwiki__confluence80tags__layout_tip_table_roadmap.storage.xhtml")
    target = next(index for index, block in enumerate(blocks) if block == Heading(1, "Know your spaces")) + 1
    edited = list(blocks)
    edited[target] = Paragraph(prose(400))

    before = {
        (draft.key, draft.text): draft
        for draft in chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)
    }
    after = {
        (draft.key, draft.text): draft
        for draft in chunk_page(title=TITLE, blocks=edited, max_tokens=MAX_TOKENS)
    }
    removed = [draft for identity, draft in before.items() if identity not in after]
    added = [draft for identity, draft in after.items() if identity not in before]

    assert len(added) > 1
    assert {draft.parent_headers for draft in removed + added} == {("Know your spaces",)}


def test_adding_a_block_to_one_section_leaves_the_next_sections_chunks_alone() -> None:
    blocks: list[Block] = [Heading(1, "A"), Paragraph("a."), Heading(1, "B"), Paragraph("b.")]
    edited: list[Block] = [
        Heading(1, "A"),
        Code(text="new code"),
        Paragraph("a."),
        Heading(1, "B"),
        Paragraph("b."),
    ]

    before = chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)
    after = chunk_page(title=TITLE, blocks=edited, max_tokens=MAX_TOKENS)
    assert before[-1] == after[-1]


def test_sections_with_the_same_heading_path_get_distinct_keys() -> None:
    blocks: list[Block] = [Heading(2, "Example"), Paragraph("One."), Heading(2, "Example"), Paragraph("Two.")]
    keys = [draft.key for draft in chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)]

    assert len(set(keys)) == 2


def test_output_is_deterministic() -> None:
    blocks = fixture_blocks("xwiki__confluence80tags__layout_tip_table_roadmap.storage.xhtml")

    assert chunk_page(title=TITLE, blocks=blocks, max_tokens=64) == chunk_page(
        title=TITLE, blocks=blocks, max_tokens=64
    )


def test_empty_text_never_produces_a_chunk() -> None:
    blocks: list[Block] = [Paragraph("  "), Code(text="\n\n   \n"), ListBlock(items=())]

    assert chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS) == []


def test_a_heading_with_nothing_under_it_is_still_a_chunk_so_it_can_be_found() -> None:
    blocks: list[Block] = [Heading(2, "Printer codes"), Heading(2, "Escalation"), Paragraph("Call 4357.")]

    drafts = chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)

    assert [(d.parent_headers, d.text) for d in drafts] == [
        (("Printer codes",), "Printer codes"),
        (("Escalation",), "Call 4357."),
    ]


def test_a_heading_whose_subsections_carry_it_gets_no_chunk_of_its_own() -> None:
    blocks: list[Block] = [Heading(1, "Setup"), Heading(2, "Linux"), Paragraph("Use apt.")]

    drafts = chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)

    assert [(d.parent_headers, d.text) for d in drafts] == [(("Setup", "Linux"), "Use apt.")]


def test_a_label_travels_with_the_table_it_introduces() -> None:
    table = Table(header=("Model", "RAM"), rows=(("MacBook Pro", "32 GB"),))
    blocks: list[Block] = [Paragraph("Intro text that is a sentence."), Paragraph("Supported laptops"), table]

    drafts = chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)

    assert [(d.chunk_type, d.text) for d in drafts] == [
        ("text", "Intro text that is a sentence."),
        ("table", "Supported laptops\nModel | RAM\nMacBook Pro | 32 GB"),
    ]


def test_a_one_line_fragment_between_code_blocks_joins_the_next_one() -> None:
    blocks: list[Block] = [
        Code(text="make build", language="bash"),
        Paragraph("Then, once it is green."),
        Code(text="make deploy", language="bash"),
    ]

    drafts = chunk_page(title=TITLE, blocks=blocks, max_tokens=MAX_TOKENS)

    assert [(d.chunk_type, d.text) for d in drafts] == [
        ("code", "make build"),
        ("code", "Then, once it is green.\nmake deploy"),
    ]


def test_a_code_title_heads_every_chunk_of_its_code() -> None:
    code = Code(text="\n".join(f"line_{n} = {n}" for n in range(400)), language="python", title="settings.py")

    drafts = chunk_page(title=TITLE, blocks=[code], max_tokens=MAX_TOKENS)

    assert len(drafts) > 1 and all(d.text.startswith("settings.py\n") for d in drafts)


def test_very_long_headings_are_dropped_from_the_top_of_the_path_to_leave_room() -> None:
    outer = "Outer " + prose(150)
    drafts = chunk_page(
        title=TITLE,
        blocks=[Heading(1, outer), Heading(2, "Inner"), Paragraph(prose(300))],
        max_tokens=MAX_TOKENS,
    )

    assert_all_fit(drafts)
    assert {draft.parent_headers for draft in drafts} == {("Inner",)}


def test_a_title_that_leaves_no_room_for_text_is_refused() -> None:
    with pytest.raises(ChunkValidationError, match="page_title"):
        chunk_page(title=prose(300), blocks=[Paragraph("Hello.")], max_tokens=MAX_TOKENS)
