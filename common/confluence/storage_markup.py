"""Tolerant loading of a Confluence storage-format string into an lxml tree.

Real pages are messy. Storage format is XHTML with undeclared `ac:`, `ri:` and `at:` prefixes, HTML named
entities that XML does not know (`&nbsp;`, sometimes ones nobody knows), control characters, bare `&` and
`<`, CDATA inside code macros, and sometimes mismatched or stray end tags. lxml's strict parser rejects all
of that, and its recover mode alone is not enough: after the first error libxml2 drops everything up to the
next well-formed point (a stray `</td>` can cost the rest of the page) and silently discards later named
entity references, even `&amp;`.

So the body is first made XML outside CDATA (every entity a character or numeric reference, unknown ones
kept as literal text), wrapped in a root that declares the prefixes, and parsed strictly. Only if that fails
are stray end tags dropped and open ones closed before lxml's recovering parser does the rest.

`load_storage_tree` never raises. Its `recovered` flag says the text may not be exactly what the author wrote:
the markup had to be repaired, or it held entities nobody knows. This module logs nothing; the caller does.
"""

from __future__ import annotations

import re
from html.entities import html5
from typing import Any

from lxml import etree

AC_NS = "http://atlassian.com/content"
RI_NS = "http://atlassian.com/resource/identifier"
AT_NS = "http://atlassian.com/template"
NAMESPACES = {"ac": AC_NS, "ri": RI_NS, "at": AT_NS}
"""Prefix → namespace URI, for every prefix storage format uses without declaring it."""

__all__ = ["AC_NS", "AT_NS", "NAMESPACES", "RI_NS", "load_storage_tree"]

_ROOT_OPEN = f'<kb-root xmlns:ac="{AC_NS}" xmlns:ri="{RI_NS}" xmlns:at="{AT_NS}">'
_ROOT_CLOSE = "</kb-root>"

_VOID_HTML = frozenset({"br", "hr", "img", "col", "input", "meta", "link", "area", "base", "wbr", "source"})

_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
_ENTITY = re.compile(r"&(#?[A-Za-z0-9]+;)?")
_LONE_LT = re.compile(r"<(?![A-Za-z_/!?])")
_XML_SPECIALS = frozenset("&<>\"'")
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TAG = re.compile(
    r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<[?!][^>]*>|</([^\s>]+)\s*>"
    r"|<([A-Za-z_][^\s/>]*)((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>",
    re.DOTALL,
)


def load_storage_tree(xhtml: str) -> tuple[Any, bool]:
    """The body under a `kb-root` element, and whether it was recovered; never raises, whatever the markup.

    Comments and processing instructions are gone; namespaced names are `{uri}local`, with the URIs of
    `NAMESPACES`. When nothing at all can be read the root is empty.
    """
    prepared, unknown_entities = _prepare(xhtml)
    document = _ROOT_OPEN + prepared + _ROOT_CLOSE
    strict = _parse(document, recover=False)
    if strict is not None:
        return strict, unknown_entities
    recovered = _parse(_balance(document), recover=True)
    return (recovered if recovered is not None else etree.Element("kb-root")), True


def _parse(document: str, *, recover: bool) -> Any:
    """The root, or None when lxml gives up. A fresh parser each time: lxml parsers are not thread-safe."""
    options = {"resolve_entities": False, "no_network": True, "remove_comments": True, "remove_pis": True}
    parser = etree.XMLParser(recover=recover, **options)
    try:
        return etree.fromstring(document.encode(), parser)
    except etree.XMLSyntaxError:
        return None


def _prepare(xhtml: str) -> tuple[str, bool]:
    """Make the body XML outside CDATA, and say whether it held entities nobody knows.

    Every entity becomes a character or a numeric reference: once libxml2 has recovered from one error it
    silently drops later named references, even `&amp;`, but keeps numeric ones. A bare `&` or `<` becomes a
    reference too; an unknown entity stays visible as its literal text. CDATA is code and stays as written.
    """
    parts = _CDATA.split(_NOT_XML_CHARS.sub("", xhtml))
    markup = parts[::2]  # split() with one capture group alternates markup and CDATA
    names = (name for part in markup for name in _ENTITY.findall(part))
    unknown = any(name and not name.startswith("#") and name not in html5 for name in names)
    for index in range(0, len(parts), 2):
        parts[index] = _LONE_LT.sub("&#60;", _ENTITY.sub(_entity, parts[index]))
    return "".join(parts), unknown


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name is None:
        return "&#38;"
    if name.startswith("#"):
        return match.group(0)
    if name not in html5:
        return "&#38;" + name
    return "".join(f"&#{ord(char)};" if char in _XML_SPECIALS else char for char in html5[name])


def _balance(document: str) -> str:
    """Drop end tags that close nothing open and close what is left open, so one stray `</td>` costs no text.

    libxml2's recovery alone discards everything after a mismatched end tag. HTML void elements written
    without a slash (`<br>`) are closed on the spot.
    """
    out: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _TAG.finditer(document):
        out.append(document[position : match.start()])
        position = match.end()
        end, start, attributes, self_closing = match.groups()
        if end is not None:
            while end in stack:
                name = stack.pop()
                out.append(f"</{name}>")
                if name == end:
                    break
        elif start is None:
            out.append(match.group(0))
        elif self_closing or start.lower() in _VOID_HTML:
            out.append(f"<{start}{attributes}/>")
        else:
            stack.append(start)
            out.append(match.group(0))
    out.append(document[position:])
    out.extend(f"</{name}>" for name in reversed(stack))
    return "".join(out)
