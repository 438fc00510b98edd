"""A document's Markdown as Confluence storage format: what its page holds, and what gets indexed.

Three well-kept tools in a row, so nothing a person (or an LLM) types can become markup it should not:

1. markdown-it-py (CommonMark, tables) with raw HTML off: `<script>` in a body is text, not a tag, and
   links it cannot vouch for (`javascript:`) stay text;
2. nh3 (the Rust `ammonia` sanitiser) keeps only the tags and attributes a page needs, links only to
   http(s) and mail;
3. lxml writes the result as XHTML (storage format is XML), and fenced code becomes Confluence's `code`
   macro with its language, which is also how the indexer recognises code.
"""

from __future__ import annotations

import re
from typing import Final

import nh3
from lxml import etree, html
from markdown_it import MarkdownIt

AC: Final = "http://atlassian.com/content"
TAGS: Final = frozenset(
    {
        "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "em", "strong", "code", "pre", "blockquote",
        "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "del", "s",
    }
)  # fmt: skip
ATTRIBUTES: Final = {"a": {"href"}, "code": {"class"}, "ol": {"start"}}

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Control characters XML 1.0 cannot hold, so no page could: a body pasted from a terminal may carry them."""

_markdown = MarkdownIt("commonmark", {"html": False, "xhtmlOut": True}).enable(["table", "strikethrough"])


def to_html(markdown: str) -> str:
    """The sanitised HTML of `markdown`, for a page that shows a document (`kb serve`)."""
    return nh3.clean(
        _markdown.render(_NOT_XML.sub("", markdown)),
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes={"http", "https", "mailto"},
    )


def to_storage_format(markdown: str) -> str:
    """Storage-format XHTML for `markdown`, safe to put on a page and to parse again."""
    root = html.fragment_fromstring(to_html(markdown), create_parent="div")
    for pre in list(root.iter("pre")):
        _code_macro(pre)
    xhtml = "".join(etree.tostring(child, encoding="unicode", method="xml") for child in root)
    # Storage format declares `ac:` itself; a page carries no namespace declarations.
    return xhtml.replace(f' xmlns:ac="{AC}"', "")


def _code_macro(pre: html.HtmlElement) -> None:
    """`<pre><code class="language-x">` → `<ac:structured-macro ac:name="code">` with a CDATA body."""
    code = pre.find("code")
    text = (code.text_content() if code is not None else pre.text_content()).rstrip("\n")
    language = ""
    if code is not None:
        classes = (code.get("class") or "").split()
        language = next((c.removeprefix("language-") for c in classes if c.startswith("language-")), "")
    macro = etree.Element(f"{{{AC}}}structured-macro", nsmap={"ac": AC})
    macro.set(f"{{{AC}}}name", "code")
    if language:
        parameter = etree.SubElement(macro, f"{{{AC}}}parameter")
        parameter.set(f"{{{AC}}}name", "language")
        parameter.text = language
    body = etree.SubElement(macro, f"{{{AC}}}plain-text-body")
    body.text = etree.CDATA(text)  # lxml splits a "]]>" in the code itself
    macro.tail = pre.tail
    parent = pre.getparent()
    assert parent is not None
    parent.replace(pre, macro)
