"""Confluence storage format → a flat sequence of typed blocks, in document order.

Storage format is XHTML with undeclared `ac:`, `ri:` and `at:` prefixes, HTML named entities that XML does
not know, and CDATA inside code macros. Chunking needs structure, not markup: headings to build section
paths, code verbatim with its language, tables as rows under a header, lists as indented items, panels with
their kind, and everything else as prose with its whitespace normalised.

What each macro becomes:
- `code`, `noformat`, `paste-code-macro` → code blocks, with their title (often a file name); `plantuml` too
  (language "plantuml"), because the names and labels in a diagram are content search should find, and as
  a code chunk its layout keywords cannot dilute prose.
- `info`, `note`, `warning`, `tip`, `panel`, `success`, `error`, `alert` → panels that keep kind and title;
  code inside a panel stays a code block of its own, with its language.
- `expand` → its title as a minor heading, then its body, so the title stays with what it hides.
- `markdown` (a plain-text body written as Markdown) → that text, as prose.
- `status` → its title inline, e.g. "[DONE]"; a single-issue `jira` macro → its issue key ("PROJ-27"), which
  is what Confluence shows and what people search for. Issue queries (JQL tables, counts) render nothing.
- any other macro with a rich-text body (`excerpt`, `expand`, `details`, `section`, …) → its body, as if the
  macro were not there.
- every other macro renders nothing: `toc`, `pagetree`, `children`, `anchor`, `excerpt-include`,
  `profile`, `roadmap`, math (LaTeX source reads as noise), … Macro parameters never become text.
Emoticons and placeholders render nothing; layouts are transparent. An image reads as its alt text and
caption, never its file name (`diagram-final-v3.png` is not prose). The older macro form (`ac:macro`, with
`ac:default-parameter` for the unnamed parameter, such as a code block's language) reads exactly like
`ac:structured-macro`.

A page that is not well-formed XML is still read: `common.confluence.storage_markup` repairs it into a tree,
and `ParsedPage.recovered` says so; this module logs nothing, the caller does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from common.confluence.storage_markup import NAMESPACES, load_storage_tree

_PREFIXES = {uri: prefix for prefix, uri in NAMESPACES.items()}

CODE_MACROS = frozenset({"code", "noformat", "paste-code-macro", "plantuml"})
TEXT_BODY_MACROS = frozenset({"markdown"})
"""Macros whose plain-text body is what readers see; other plain-text bodies (LaTeX, raw HTML) are not."""
PANEL_MACROS = frozenset({"info", "note", "warning", "tip", "panel", "success", "error", "alert"})
_PANEL_LABELS = {kind: kind.capitalize() for kind in PANEL_MACROS - {"panel"}}
"""A generic `panel` is a coloured box with no meaning of its own, so it gets no label."""

_MACROS = frozenset({"ac:structured-macro", "ac:macro"})
"""The current form and the older one (`<ac:macro ac:name="code">`), read alike."""
EXPAND_TITLE_LEVEL = 4
"""A minor heading: prose to the chunker, and the lead-in of a block it introduces."""
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_LISTS = frozenset({"ul", "ol", "ac:task-list"})
_CONTAINERS = frozenset({
    "p", "div", "blockquote", "section", "article", "hr", "ac:layout", "ac:layout-section", "ac:layout-cell",
    "ac:rich-text-body", "ac:adf-extension", "ac:adf-node", "ac:adf-content",
})  # fmt: skip
_BLOCK_ELEMENTS = _HEADINGS | _LISTS | _CONTAINERS | {"pre", "table"}
_SILENT = frozenset({
    "ac:parameter", "ac:default-parameter", "ac:plain-text-body", "ac:task-id", "ac:task-status",
    "ac:placeholder", "ac:emoticon", "ac:caption",
    "ac:adf-attribute", "ac:adf-fallback", "colgroup", "col", "script", "style",
})  # fmt: skip
_RESOURCE_NAMES = {
    "ri:page": "ri:content-title", "ri:blog-post": "ri:content-title", "ri:attachment": "ri:filename",
    "ri:space": "ri:space-key",
}  # fmt: skip
"""What a link without a body reads as: the attribute that names its target."""
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class Code:
    text: str
    """Verbatim, whitespace included: indentation is meaning in code."""
    language: str = ""
    title: str = ""
    """The code macro's title, often the file the code belongs in."""


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    """Empty when the table has no header row."""
    rows: tuple[tuple[str, ...], ...]

    @staticmethod
    def render_row(cells: tuple[str, ...]) -> str:
        """A row as one readable line: "Name | Owner | Due"."""
        return " | ".join(cells)

    @property
    def text(self) -> str:
        return "\n".join(self.render_row(row) for row in (self.header, *self.rows) if row)


@dataclass(frozen=True, slots=True)
class ListBlock:
    items: tuple[str, ...]
    """One line per item, already indented for nesting and marked ("-", "2.", "[ ]", "[x]")."""

    @property
    def text(self) -> str:
        return "\n".join(self.items)


@dataclass(frozen=True, slots=True)
class Panel:
    kind: str
    """The macro's meaning: info, note, warning, tip, success, error, alert, or plain panel."""
    title: str
    body: str

    @property
    def text(self) -> str:
        """The kind leads, so "Warning: never restart the primary" keeps its force in a chunk."""
        label = _PANEL_LABELS.get(self.kind)
        return (f"{label}: " if label else "") + "\n".join(part for part in (self.title, self.body) if part)


Block = Heading | Paragraph | Code | Table | ListBlock | Panel


@dataclass(frozen=True, slots=True)
class ParsedPage:
    blocks: tuple[Block, ...]
    recovered: bool
    """True when the body was not well-formed and had to be repaired: text near the defect may be lost."""

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)


def _unknown_user(ref: str) -> str | None:
    return None


def parse_storage_format(xhtml: str, *, user_name: Callable[[str], str | None] = _unknown_user) -> ParsedPage:
    """Read a storage-format body; never raises, whatever the markup.

    `user_name` turns a user reference (account id, user key or username) into a display name; mentions it
    cannot resolve read "@user".
    """
    root, recovered = load_storage_tree(xhtml)
    return ParsedPage(blocks=tuple(_Reader(user_name).blocks(root)), recovered=recovered)


class _Reader:
    """Walks the tree; one instance per page because it carries the page's user-name callback."""

    def __init__(self, user_name: Callable[[str], str | None]) -> None:
        self._user_name = user_name

    def blocks(self, parent: Any) -> Iterator[Block]:
        """Block children become blocks; runs of inline content between them become paragraphs."""
        run = [_space(parent.text)]
        for child in parent:
            if _is_block(child):
                yield from _paragraph(run)
                run = []
                yield from self._block(child)
            else:
                run.append(self.inline(child))
            run.append(_space(child.tail))
        yield from _paragraph(run)

    def plain(self, element: Any) -> str:
        """One line of text, for places that hold one: headings, table cells, list items."""
        return _one_line(" ".join(block.text for block in self.blocks(element)))

    def inline(self, element: Any) -> str:
        name = _name(element)
        if name == "br":
            return "\n"
        if name in _SILENT or not name:
            return ""
        if name == "ac:link":
            return self._link(element)
        if name == "ac:image":
            return self._image(element)
        if name == "ri:user":
            return self._user(element)
        if name == "time":
            return str(element.get("datetime", ""))
        if name in _MACROS:
            return self._inline_macro(element)
        text = _space(element.text) + "".join(self.inline(child) + _space(child.tail) for child in element)
        return f"\n{text}\n" if name in _BLOCK_ELEMENTS else text

    def _block(self, element: Any) -> Iterator[Block]:
        name = _name(element)
        if name in _HEADINGS:
            text = self.plain(element)
            if text:
                yield Heading(level=int(name[1]), text=text)
        elif name == "pre":
            yield from _code("".join(element.itertext()), language="")
        elif name == "table":
            yield from self._table(element)
        elif name in _LISTS:
            yield from self._list(element)
        elif name in _MACROS:
            yield from self._macro(element)
        else:
            yield from self.blocks(element)

    def _macro(self, element: Any) -> Iterator[Block]:
        macro = _macro_name(element)
        body = _child(element, "ac:rich-text-body")
        if macro in CODE_MACROS:
            yield from _code(
                _child_text(element, "ac:plain-text-body"),
                language=_language(element, macro),
                title=_one_line(_param(element, "title")),
            )
        elif macro in PANEL_MACROS:
            yield from self._panel(element, macro, body)
        elif body is not None:
            title = _one_line(_param(element, "title")) if macro == "expand" else ""
            if title:
                yield Heading(level=EXPAND_TITLE_LEVEL, text=title)
            yield from self.blocks(body)
        elif macro in TEXT_BODY_MACROS:
            yield from _paragraph([_child_text(element, "ac:plain-text-body")])

    def _panel(self, element: Any, macro: str, body: Any) -> Iterator[Block]:
        """The panel's prose, with any code in it split out as code blocks where it stands: a command in a
        tip is still a command, with its language."""
        kind, title = _panel_kind(element, macro), _one_line(_param(element, "title"))
        texts: list[str] = []
        for block in self.blocks(body) if body is not None else ():
            if isinstance(block, Code):
                if texts or title:
                    yield Panel(kind=kind, title=title, body="\n".join(texts))
                texts, title = [], ""
                yield block
            else:
                texts.append(block.text)
        if texts or title:
            yield Panel(kind=kind, title=title, body="\n".join(texts))

    def _image(self, element: Any) -> str:
        caption = _child(element, "ac:caption")
        parts = [_one_line(_attr(element, "ac:alt")), self.plain(caption) if caption is not None else ""]
        return " ".join(part for part in parts if part)

    def _inline_macro(self, element: Any) -> str:
        macro = _macro_name(element)
        if macro == "status":
            title = _one_line(_param(element, "title"))
            return f"[{title}]" if title else ""
        if macro in ("jira", "jiraissues"):
            return _one_line(_param(element, "key"))
        if macro in CODE_MACROS:
            return _child_text(element, "ac:plain-text-body")
        body = _child(element, "ac:rich-text-body")
        return self.inline(body) if body is not None else ""

    def _table(self, element: Any) -> Iterator[Table]:
        rows = [
            [(self.plain(cell), _name(cell) == "th") for cell in row if _name(cell) in ("td", "th")]
            for row in _table_rows(element)
        ]
        rows = [row for row in rows if any(text for text, _ in row)]
        if not rows:
            return
        first_is_header = all(is_th for _, is_th in rows[0])
        no_th_anywhere = not any(is_th for row in rows for _, is_th in row)
        texts = [tuple(text for text, _ in row) for row in rows]
        if first_is_header or (no_th_anywhere and len(rows) > 1):
            yield Table(header=texts[0], rows=tuple(texts[1:]))
        else:
            yield Table(header=(), rows=tuple(texts))

    def _list(self, element: Any) -> Iterator[Block]:
        """Item lines grouped into list blocks; code, tables and panels inside items split the list there."""
        lines: list[str] = []
        for entry in self._entries(element, depth=0):
            if isinstance(entry, str):
                lines.append(entry)
                continue
            if lines:
                yield ListBlock(items=tuple(lines))
                lines = []
            yield entry
        if lines:
            yield ListBlock(items=tuple(lines))

    def _entries(self, element: Any, depth: int) -> Iterator[str | Block]:
        if _name(element) == "ac:task-list":
            for task in (child for child in element if _name(child) == "ac:task"):
                done = _child_text(task, "ac:task-status").strip() == "complete"
                body = _child(task, "ac:task-body")
                if body is not None:
                    yield from self._item(body, "[x]" if done else "[ ]", depth)
            return
        ordered = _name(element) == "ol"
        start = element.get("start", "1")
        number = int(start) if start.isdigit() else 1
        for child in element:
            if _name(child) in _LISTS:
                yield from self._entries(child, depth + 1)
            elif _name(child) == "li":
                yield from self._item(child, f"{number}." if ordered else "-", depth)
                number += 1

    def _item(self, content: Any, marker: str, depth: int) -> Iterator[str | Block]:
        lead = f"{'   ' * depth}{marker} "
        text = [_space(content.text)]
        for child in content:
            name = _name(child)
            if name in _LISTS or _is_hoisted(child):
                line = _one_line("".join(text))
                if line:
                    yield lead + line
                    lead = " " * len(lead)
                text = []
                yield from (self._entries(child, depth + 1) if name in _LISTS else self._block(child))
            else:
                text.append(f" {self.plain(child)} " if _is_block(child) else self.inline(child))
            text.append(_space(child.tail))
        line = _one_line("".join(text))
        if line:
            yield lead + line

    def _link(self, element: Any) -> str:
        body = _child(element, "ac:link-body")
        text = self.inline(body) if body is not None else _child_text(element, "ac:plain-text-link-body")
        if text.strip():
            return text
        for resource in element:
            if _name(resource) == "ri:user":
                return self._user(resource)
            if _name(resource) in _RESOURCE_NAMES:
                return _attr(resource, _RESOURCE_NAMES[_name(resource)])
        return ""

    def _user(self, element: Any) -> str:
        ref = _attr(element, "ri:account-id") or _attr(element, "ri:userkey") or _attr(element, "ri:username")
        return (self._user_name(ref) if ref else None) or "@user"


def _paragraph(run: list[str]) -> Iterator[Paragraph]:
    lines = (" ".join(line.split()) for line in "".join(run).split("\n"))
    text = "\n".join(line for line in lines if line)
    if text:
        yield Paragraph(text=text)


def _code(text: str, *, language: str, title: str = "") -> Iterator[Code]:
    if text.strip():
        yield Code(text=text, language=language, title=title)


def _language(element: Any, macro: str) -> str:
    language = (
        _param(element, "language") or _param(element, "") or _child_text(element, "ac:default-parameter")
    )
    return language.strip().lower() or ("plantuml" if macro == "plantuml" else "")


def _panel_kind(element: Any, macro: str) -> str:
    """An `alert` macro's meaning is in its `type` parameter (Success, Warning, …)."""
    if macro != "alert":
        return macro
    kind = _param(element, "type").strip().lower()
    return kind if kind in _PANEL_LABELS else "alert"


def _is_block(element: Any) -> bool:
    if _name(element) in _MACROS:
        return (
            _is_hoisted(element)
            or _child(element, "ac:rich-text-body") is not None
            or _macro_name(element) in TEXT_BODY_MACROS
        )
    return _name(element) in _BLOCK_ELEMENTS


def _is_hoisted(element: Any) -> bool:
    """Inside a list item, these stay blocks of their own instead of being squeezed into the item's line."""
    if _name(element) in _MACROS:
        return _macro_name(element) in CODE_MACROS | PANEL_MACROS
    return _name(element) in ("table", "pre")


def _table_rows(table: Any) -> Iterator[Any]:
    for child in table:
        if _name(child) == "tr":
            yield child
        elif _name(child) in ("thead", "tbody", "tfoot"):
            yield from (row for row in child if _name(row) == "tr")


def _name(element: Any) -> str:
    """`ac:structured-macro` style names; "" for comments and entity references."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return f"{_PREFIXES.get(uri, uri)}:{local}"
    return tag.lower()


def _attr(element: Any, name: str) -> str:
    if element is None:
        return ""
    prefix, _, local = name.rpartition(":")
    return str(element.get(f"{{{NAMESPACES[prefix]}}}{local}" if prefix else local) or "")


def _macro_name(element: Any) -> str:
    return _attr(element, "ac:name").strip().lower()


def _child(element: Any, name: str) -> Any:
    return next((child for child in element if _name(child) == name), None)


def _child_text(element: Any, name: str) -> str:
    child = _child(element, name)
    return "".join(child.itertext()) if child is not None else ""


def _param(element: Any, name: str) -> str:
    for parameter in element:
        if _name(parameter) == "ac:parameter" and _attr(parameter, "ac:name") == name:
            return "".join(parameter.itertext())
    return ""


def _space(text: str | None) -> str:
    """Source whitespace, newlines included, is layout: one space. Only `<br>` makes a line break."""
    return _WHITESPACE.sub(" ", text) if text else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())
