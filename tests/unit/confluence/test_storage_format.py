"""Reading Confluence storage format into typed blocks: the golden pages in shared/fixtures, read in place."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

import pytest

from common.confluence.storage_format import (
    Code,
    Heading,
    ListBlock,
    Panel,
    Paragraph,
    ParsedPage,
    Table,
    parse_storage_format,
)
from tests.support.paths import STORAGE_FORMAT_FIXTURES

ALL_FIXTURES = sorted(STORAGE_FORMAT_FIXTURES.glob("*.storage.xhtml"))
MISMATCHED_TAG = "xwiki__confluence80tags__layout_tip_table_roadmap.storage.xhtml"
HTML_ENTITY = "xwiki__lists__lists_toc_pagetree_inline-comment.storage.xhtml"
T = TypeVar("T")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_fixture(name: str) -> ParsedPage:
    return parse_storage_format((STORAGE_FORMAT_FIXTURES / name).read_text(encoding="utf-8"))


def blocks_of(page: ParsedPage, kind: type[T]) -> list[T]:
    return [block for block in page.blocks if isinstance(block, kind)]


def test_the_fixture_folder_is_read_in_place() -> None:
    assert len(ALL_FIXTURES) == 10


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda path: path.name.split("__")[1])
def test_every_fixture_yields_text(path: Path) -> None:
    page = parse_storage_format(path.read_text(encoding="utf-8"))

    assert page.text.strip()


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda path: path.name.split("__")[1])
def test_no_markup_or_macro_ids_leak_into_text(path: Path) -> None:
    text = parse_storage_format(path.read_text(encoding="utf-8")).text

    assert "ac:" not in text
    assert "ri:" not in text
    assert "structured-macro" not in text
    assert not UUID.search(text)


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda path: path.name.split("__")[1])
def test_well_formed_fixtures_are_not_flagged_as_recovered(path: Path) -> None:
    page = parse_storage_format(path.read_text(encoding="utf-8"))

    assert page.recovered is (path.name == MISMATCHED_TAG)


def test_html_named_entities_become_characters_without_recovery() -> None:
    page = parse_fixture(HTML_ENTITY)

    assert "170°" in page.text
    assert "190°" in page.text
    assert not page.recovered


def test_a_mismatched_end_tag_is_recovered_without_losing_the_text_after_it() -> None:
    page = parse_fixture(MISMATCHED_TAG)

    assert page.recovered
    for later_text in ("Roadmap", "Know your pages", "Useful links", "inviting your team to Confluence"):
        assert later_text in page.text


def test_an_unknown_entity_is_flagged_and_kept_as_literal_text() -> None:
    page = parse_storage_format("<p>Fish &chips; &amp; R&D &lt;tag&gt;</p><p>after</p>")

    assert page.recovered
    assert page.blocks == (Paragraph("Fish &chips; & R&D <tag>"), Paragraph("after"))


@pytest.mark.parametrize(
    "garbage", ["", "   ", "<<<>>>&&&", "</p></p>loose text", "<p><b>never closed", "<ac:unknown-thing>x"]
)
def test_garbage_never_raises(garbage: str) -> None:
    page = parse_storage_format(garbage)

    assert isinstance(page.blocks, tuple)


def test_code_macro_keeps_language_from_its_language_parameter() -> None:
    codes = blocks_of(parse_fixture("xwiki__codett__code-macro_ri-page.storage.xhtml"), Code)

    java = next(code for code in codes if code.language == "java")
    assert java.text == (
        "class Simple{\n"
        "    public static void main(String args[]){\n"
        '        System.out.println("Hello World !");\n'
        "    }\n"
        "}"
    )


def test_code_macro_takes_its_language_from_the_unnamed_parameter() -> None:
    codes = blocks_of(parse_fixture("xwiki__codett__code-macro_ri-page.storage.xhtml"), Code)

    assert Code(text="select 1", language="sql") in codes


def test_code_macro_without_a_language_has_an_empty_one() -> None:
    codes = blocks_of(parse_fixture("xwiki__codett__code-macro_ri-page.storage.xhtml"), Code)

    assert Code(text="int main() {\n    return EXIT_SUCCESS;\n}", language="") in codes


def test_cdata_is_kept_verbatim_and_never_entity_decoded() -> None:
    body = (
        '<ac:structured-macro ac:name="noformat"><ac:plain-text-body>'
        "<![CDATA[  a &nbsp; <b>\n\ttabbed  ]]></ac:plain-text-body></ac:structured-macro>"
    )

    assert parse_storage_format(body).blocks == (Code(text="  a &nbsp; <b>\n\ttabbed  ", language=""),)


def test_plantuml_source_is_kept_as_a_plantuml_code_block() -> None:
    codes = blocks_of(parse_fixture("xwiki__misc2__info-note-tip-plantuml_children.storage.xhtml"), Code)

    assert [code.language for code in codes] == ["plantuml"]
    assert codes[0].text.startswith("@startgantt\n<style>")


def test_code_inside_a_list_item_splits_the_list_around_it() -> None:
    page = parse_fixture("xwiki__codett__code-macro_ri-page.storage.xhtml")
    kinds = [type(block) for block in page.blocks[:4]]

    assert kinds == [Paragraph, ListBlock, Code, ListBlock]


def test_table_header_comes_from_th_cells() -> None:
    table = blocks_of(parse_fixture("xwiki__table__tables.storage.xhtml"), Table)[0]

    assert table.header == (
        "Text left aligned in this column",
        "Text centered in this column",
        "Text right aligned in this column",
    )
    assert table.rows[0] == ("Lorem", "Ipsum", "Dolor - Erste Zeile ist in gr;ner Farbe")


def test_table_without_th_takes_its_first_row_as_header() -> None:
    body = "<table><tr><td>Name</td><td>Owner</td></tr><tr><td>api</td><td>Ann</td></tr></table>"

    assert parse_storage_format(body).blocks == (Table(header=("Name", "Owner"), rows=(("api", "Ann"),)),)


def test_nested_lists_in_cells_are_flattened_into_the_cell_text() -> None:
    table = blocks_of(parse_fixture("xwiki__table__tables.storage.xhtml"), Table)[0]

    assert table.rows[3][1] == "- Test with bullet points - Test with bullet points - Test with bullet points"


def test_table_renders_as_header_and_rows_separated_by_bars() -> None:
    table = Table(header=("Name", "Owner"), rows=(("api", "Ann"),))

    assert table.text == "Name | Owner\napi | Ann"


def test_ordered_lists_are_numbered_and_nesting_is_indented() -> None:
    lists = blocks_of(parse_fixture(HTML_ENTITY), ListBlock)

    assert ListBlock(items=("1. Hello", "2. world", "   1. Hello nested", "   2. world nested")) in lists


def test_task_lists_show_each_task_status() -> None:
    body = (
        "<ac:task-list>"
        "<ac:task><ac:task-status>complete</ac:task-status><ac:task-body>Ship it</ac:task-body></ac:task>"
        "<ac:task><ac:task-status>incomplete</ac:task-status><ac:task-body>Tell ops</ac:task-body></ac:task>"
        "</ac:task-list>"
    )

    assert parse_storage_format(body).blocks == (ListBlock(items=("[x] Ship it", "[ ] Tell ops")),)


def test_nested_task_lists_are_indented_and_inline_status_shows_its_title() -> None:
    lists = blocks_of(parse_fixture(HTML_ENTITY), ListBlock)

    parent = "[ ] Task containing an inline status and then a task list [prio 1]"
    assert ListBlock(items=(parent, "   [ ] task inside a task")) in lists


def test_panels_keep_their_kind_and_title() -> None:
    panels = blocks_of(parse_fixture("xwiki__misc2__info-note-tip-plantuml_children.storage.xhtml"), Panel)

    assert panels == [
        Panel(kind="tip", title="My title", body="Hello tip"),
        Panel(kind="note", title="My title", body="Hello note"),
        Panel(kind="info", title="My title", body="Hello info"),
    ]


def test_alert_panels_take_their_kind_from_the_type_parameter() -> None:
    panels = blocks_of(parse_fixture("xwiki__alert__info_alert-macros.storage.xhtml"), Panel)

    assert [panel.kind for panel in panels] == ["success", "info", "warning", "alert", "error"]


def test_panel_text_leads_with_its_kind() -> None:
    body = '<ac:structured-macro ac:name="warning"><ac:rich-text-body><p>Never restart the primary.</p>'
    body += "</ac:rich-text-body></ac:structured-macro>"

    assert parse_storage_format(body).text == "Warning: Never restart the primary."


def test_a_plain_panel_keeps_its_text_without_a_label() -> None:
    panel = blocks_of(parse_fixture("xwiki__nested__panel_task-list_space-home.storage.xhtml"), Panel)[0]

    assert panel.kind == "panel"
    assert panel.text.startswith("Welcome to your new space!\nSpaces help your team")


def test_page_links_read_as_their_link_body() -> None:
    page = parse_fixture("xwiki__nested__ri-page-links_ri-attachment_pagetree_excerpt-include.storage.xhtml")

    assert Paragraph("It links to Under Page A: Under Page A") in page.blocks


def test_page_links_without_a_body_read_as_the_page_title() -> None:
    body = '<p>See <ac:link><ri:page ri:content-title="Runbook" ri:space-key="OPS"/></ac:link>.</p>'

    assert parse_storage_format(body).text == "See Runbook."


def test_an_image_reads_as_its_alt_text_and_caption_never_its_file_name() -> None:
    page = parse_fixture("xwiki__nested__ri-page-links_ri-attachment_pagetree_excerpt-include.storage.xhtml")
    captioned = (
        '<p>The flow: <ac:image ac:alt="Login sequence"><ri:attachment ri:filename="flow-v3-final.png"/>'
        "<ac:caption><p>Okta, then the VPN</p></ac:caption></ac:image></p>"
    )

    assert Paragraph("Image in Under Page A:") in page.blocks
    assert parse_storage_format(captioned).text == "The flow: Login sequence Okta, then the VPN"


def test_html_links_read_as_their_text() -> None:
    page = parse_fixture("xwiki__nested__panel_task-list_space-home.storage.xhtml")

    assert "- Check out our Confluence best practices guide." in page.text
    assert "https://" not in page.text


def test_user_mentions_resolve_through_the_callback() -> None:
    body = (
        '<p>Ask <ac:link><ri:user ri:account-id="5b10ac"/></ac:link>, '
        '<ac:link><ri:user ri:userkey="8a7f"/></ac:link> or '
        '<ac:link><ri:user ri:username="jdoe"/></ac:link></p>'
    )
    names = {"5b10ac": "Ann Lee", "8a7f": "Bo Chen"}

    assert parse_storage_format(body, user_name=names.get).text == "Ask Ann Lee, Bo Chen or @user"


def test_toc_pagetree_and_children_macros_render_nothing() -> None:
    body = (
        '<ac:structured-macro ac:name="toc"><ac:parameter ac:name="maxLevel">4</ac:parameter>'
        '</ac:structured-macro><p><ac:structured-macro ac:name="pagetree"><ac:parameter ac:name="root">'
        '<ac:link><ri:page ri:content-title="Home"/></ac:link></ac:parameter></ac:structured-macro></p>'
        '<ac:structured-macro ac:name="children"><ac:parameter ac:name="depth">2</ac:parameter>'
        "</ac:structured-macro>"
    )

    assert parse_storage_format(body).blocks == ()


def test_macro_parameters_never_become_text() -> None:
    text = parse_fixture(HTML_ENTITY).text

    for parameter_value in ("natural", "EOWEB", "decimal", "ref 0", "myanchor", "Delta", "1337"):
        assert parameter_value not in text


def test_jira_queries_render_nothing_but_single_issues_show_their_key() -> None:
    page = parse_fixture("xwiki__jira__jira-macros.storage.xhtml")

    assert page.text == "JAXA-27\nJAXA-27"


def test_layouts_are_transparent() -> None:
    page = parse_fixture(MISMATCHED_TAG)

    assert isinstance(page.blocks[0], Panel)
    assert Heading(level=1, text="Quick navigation") in page.blocks


@pytest.mark.parametrize("macro", ["excerpt", "details"])
def test_body_macros_keep_their_body_text(macro: str) -> None:
    body = f'<ac:structured-macro ac:name="{macro}"><ac:parameter ac:name="title">Click</ac:parameter>'
    body += "<ac:rich-text-body><p>Hidden detail</p></ac:rich-text-body></ac:structured-macro>"

    assert parse_storage_format(body).blocks == (Paragraph("Hidden detail"),)


def test_headings_keep_their_level_and_plain_text() -> None:
    page = parse_fixture("xwiki__madinlinecomments__table_inline-comment-markers.storage.xhtml")
    headings = blocks_of(page, Heading)

    assert headings == [
        Heading(level=1, text="Random title with annotated part and words after"),
        Heading(level=2, text="Completely annotated title"),
    ]


def test_prose_whitespace_is_normalised_and_br_is_a_line_break() -> None:
    body = "<p>  one\n   two&nbsp;&nbsp;three <br/> four  </p>"

    assert parse_storage_format(body).blocks == (Paragraph("one two three\nfour"),)


def test_blocks_come_in_document_order() -> None:
    page = parse_fixture("xwiki__madinlinecomments__table_inline-comment-markers.storage.xhtml")
    kinds = [type(block).__name__ for block in page.blocks[:7]]

    assert kinds == ["Paragraph", "Paragraph", "Paragraph", "Table", "Paragraph", "Heading", "Paragraph"]


# --- the older macro form, titles, panels with code, Markdown --------------------------------------------


def test_the_older_macro_form_reads_like_the_structured_one() -> None:
    body = (
        '<ac:macro ac:name="code"><ac:default-parameter>python</ac:default-parameter>'
        "<ac:plain-text-body><![CDATA[print('hi')]]></ac:plain-text-body></ac:macro>"
        '<ac:macro ac:name="noformat"><ac:plain-text-body><![CDATA[raw  text]]></ac:plain-text-body>'
        "</ac:macro>"
        '<ac:macro ac:name="warning"><ac:parameter ac:name="title">Careful</ac:parameter>'
        "<ac:rich-text-body><p>Never restart the primary.</p></ac:rich-text-body></ac:macro>"
        '<p>Build: <ac:macro ac:name="status"><ac:parameter ac:name="colour">Green</ac:parameter>'
        '<ac:parameter ac:name="title">PASSING</ac:parameter></ac:macro></p>'
    )

    assert parse_storage_format(body).blocks == (
        Code(text="print('hi')", language="python"),
        Code(text="raw  text", language=""),
        Panel(kind="warning", title="Careful", body="Never restart the primary."),
        Paragraph("Build: [PASSING]"),
    )


def test_default_parameters_never_leak_into_text_or_headings() -> None:
    body = (
        '<h2>Setup <ac:macro ac:name="anchor"><ac:default-parameter>setup-anchor</ac:default-parameter>'
        '</ac:macro></h2><p>See <ac:macro ac:name="excerpt-include"><ac:default-parameter>Secret page'
        "</ac:default-parameter></ac:macro>here.</p>"
    )

    page = parse_storage_format(body)

    assert page.blocks == (Heading(level=2, text="Setup"), Paragraph("See here."))


def test_a_code_macros_title_stays_with_its_code() -> None:
    body = (
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="title">deploy.yaml</ac:parameter>'
        '<ac:parameter ac:name="language">yaml</ac:parameter>'
        "<ac:plain-text-body><![CDATA[replicas: 3]]></ac:plain-text-body></ac:structured-macro>"
    )

    assert parse_storage_format(body).blocks == (
        Code(text="replicas: 3", language="yaml", title="deploy.yaml"),
    )


def test_an_expand_title_leads_its_body_as_a_minor_heading() -> None:
    body = (
        '<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">Linux clients</ac:parameter>'
        "<ac:rich-text-body><p>Use openconnect.</p></ac:rich-text-body></ac:structured-macro>"
    )

    assert parse_storage_format(body).blocks == (
        Heading(level=4, text="Linux clients"),
        Paragraph("Use openconnect."),
    )


def test_code_inside_a_tip_is_a_code_block_with_its_language() -> None:
    body = (
        '<ac:structured-macro ac:name="tip"><ac:parameter ac:name="title">Faster</ac:parameter>'
        "<ac:rich-text-body>"
        "<p>Run this once:</p>"
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>'
        "<ac:plain-text-body><![CDATA[brew install gp]]></ac:plain-text-body></ac:structured-macro>"
        "<p>Then sign in.</p></ac:rich-text-body></ac:structured-macro>"
    )

    assert parse_storage_format(body).blocks == (
        Panel(kind="tip", title="Faster", body="Run this once:"),
        Code(text="brew install gp", language="bash"),
        Panel(kind="tip", title="", body="Then sign in."),
    )


def test_a_markdown_macros_plain_text_body_is_indexed_as_text() -> None:
    body = (
        '<ac:structured-macro ac:name="markdown"><ac:plain-text-body><![CDATA[## Rotation\n'
        "Keys rotate every **90 days**.]]></ac:plain-text-body></ac:structured-macro>"
    )

    assert parse_storage_format(body).text == "## Rotation\nKeys rotate every **90 days**."
