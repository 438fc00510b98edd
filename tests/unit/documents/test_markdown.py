"""A document's Markdown becomes storage format that is safe, well-formed and indexable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from common.documents.markdown import to_html, to_storage_format

NAMESPACES = '<r xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource">{}</r>'


def parse(storage: str) -> etree._Element:
    return etree.fromstring(NAMESPACES.format(storage).encode())


def test_headings_lists_and_tables_become_their_elements() -> None:
    storage = to_storage_format("## Steps\n\n1. Open *VPN*\n2. Sign in\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    root = parse(storage)
    assert [e.tag for e in root] == ["h2", "ol", "table"]
    assert root.find("ol/li/em").text == "VPN"


def test_fenced_code_becomes_the_code_macro_with_its_language() -> None:
    root = parse(to_storage_format("```bash\nsudo systemctl restart vpn ]]> done\n```\n"))
    macro = root.find("{http://atlassian.com/content}structured-macro")
    assert macro.get("{http://atlassian.com/content}name") == "code"
    assert macro.find("{http://atlassian.com/content}parameter").text == "bash"
    assert macro.find("{http://atlassian.com/content}plain-text-body").text == (
        "sudo systemctl restart vpn ]]> done"
    )


def test_raw_html_in_a_body_stays_text() -> None:
    storage = to_storage_format('Hello <script>alert("x")</script> <img src=x onerror=alert(1)>')
    assert "<script" not in storage and "<img" not in storage
    assert "&lt;script&gt;" in storage


def test_javascript_links_are_not_links() -> None:
    storage = to_storage_format("[click](javascript:alert(1)) and [docs](https://example.com/a?b=1&c=2)")
    root = parse(storage)
    assert [a.get("href") for a in root.iter("a")] == ["https://example.com/a?b=1&c=2"]


def test_the_html_view_keeps_links_and_shows_typed_tags_as_text() -> None:
    html = to_html('[docs](https://example.com) <a href="https://x" onclick="steal()">x</a>')
    assert '<a href="https://example.com" rel="noopener noreferrer">docs</a>' in html
    assert '&lt;a href="https://x" onclick="steal()"&gt;' in html


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_any_markdown_gives_well_formed_storage_without_scripts(markdown: str) -> None:
    storage = to_storage_format(markdown)
    root = parse(storage)
    tags = {e.tag for e in root.iter() if isinstance(e.tag, str)}
    assert not tags & {"script", "iframe", "img", "style"}
