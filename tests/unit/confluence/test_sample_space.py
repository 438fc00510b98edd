"""The bundled sample space is ours, so it must be clean, complete and able to answer the demo's questions."""

from __future__ import annotations

import html.entities
import json
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from common.config import SAMPLE_SPACE_DIR

PAGES_DIR = SAMPLE_SPACE_DIR / "pages"
NAMESPACES = {
    "ac": "http://atlassian.com/content",
    "ri": "http://atlassian.com/resource/identifier",
    "at": "http://atlassian.com/template",
}
XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
REQUIRED_FIELDS = {
    "id": str,
    "title": str,
    "version": int,
    "created": str,
    "updated": str,
    "author": str,
    "last_editor": str,
    "labels": list,
}
OPTIONAL_FIELDS = {"parent_id", "owner", "classification", "read_restriction"}
CLASSIFICATIONS = {"public", "internal", "confidential"}
TODAY = datetime(2026, 11, 25, tzinfo=UTC)
BODIES = sorted(PAGES_DIR.glob("*.xhtml"))


@cache
def _space() -> dict[str, Any]:
    return json.loads((SAMPLE_SPACE_DIR / "space.json").read_text())  # type: ignore[no-any-return]


@cache
def _pages() -> dict[str, dict[str, Any]]:
    """Page metadata by title."""
    metas = (json.loads(path.read_text()) for path in sorted(PAGES_DIR.glob("*.json")))
    return {meta["title"]: meta for meta in metas}


def _parse(body: str) -> etree._Element:
    """Strict XML, after turning HTML entities (which Confluence keeps in storage format) into characters."""
    text = ENTITY.sub(_entity_to_char, body)
    declarations = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())
    parser = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
    return etree.fromstring(f"<root {declarations}>{text}</root>".encode(), parser)


def _entity_to_char(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in XML_ENTITIES or name not in html.entities.name2codepoint:
        return match.group(0)
    return chr(html.entities.name2codepoint[name])


@cache
def _tree(title: str) -> etree._Element:
    meta = _pages()[title]
    body_path = next(PAGES_DIR.glob(f"{meta['id']}-*.xhtml"))
    return _parse(body_path.read_text(encoding="utf-8"))


def _all_trees() -> list[etree._Element]:
    return [_tree(title) for title in _pages()]


def _text(title: str) -> str:
    return " ".join(" ".join(_tree(title).itertext()).split())


def _attribute_values(xpath: str) -> set[str]:
    return {str(value) for tree in _all_trees() for value in tree.xpath(xpath, namespaces=NAMESPACES)}


def _updated(meta: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(meta["updated"])


def test_space_has_at_least_44_pages() -> None:
    assert len(_pages()) >= 44


def test_every_body_has_metadata_and_every_metadata_has_a_body() -> None:
    bodies = {path.stem for path in PAGES_DIR.glob("*.xhtml")}
    metas = {path.stem for path in PAGES_DIR.glob("*.json")}

    assert bodies == metas


@pytest.mark.parametrize("body_path", BODIES, ids=[path.stem for path in BODIES])
def test_every_body_is_well_formed_storage_format(body_path: Path) -> None:
    _parse(body_path.read_text(encoding="utf-8"))


def test_space_json_is_complete() -> None:
    space = _space()

    assert (space["key"], space["name"]) == ("HB", "Larkspur Handbook")
    assert space["base_url"] == "https://larkspur.example/wiki"
    assert space["default_classification"] in CLASSIFICATIONS
    assert 8 <= len(space["users"]) <= 12
    for user in space["users"]:
        assert set(user) == {"account_id", "username", "name", "email"}


@pytest.mark.parametrize("meta", list(_pages().values()), ids=list(_pages()))
def test_every_page_json_is_complete(meta: dict[str, Any]) -> None:
    assert set(REQUIRED_FIELDS) | {"parent_id"} <= set(meta)
    assert set(meta) <= set(REQUIRED_FIELDS) | OPTIONAL_FIELDS
    for field, kind in REQUIRED_FIELDS.items():
        assert isinstance(meta[field], kind), field
    assert datetime.fromisoformat(meta["created"]) < _updated(meta) <= TODAY
    assert meta.get("classification", "internal") in CLASSIFICATIONS


def test_file_names_start_with_the_page_id() -> None:
    for path in PAGES_DIR.glob("*.json"):
        assert path.stem.split("-", 1)[0] == json.loads(path.read_text())["id"], path.name


def test_titles_are_unique() -> None:
    titles = [json.loads(path.read_text())["title"] for path in PAGES_DIR.glob("*.json")]

    assert len(titles) == len(set(titles))


def test_parents_exist_and_only_the_home_page_has_none() -> None:
    ids = {meta["id"] for meta in _pages().values()}
    roots = [title for title, meta in _pages().items() if meta["parent_id"] is None]

    assert roots == ["Larkspur Handbook"]
    assert all(meta["parent_id"] in ids for meta in _pages().values() if meta["parent_id"] is not None)


def test_page_users_exist_in_space_json() -> None:
    account_ids = {user["account_id"] for user in _space()["users"]}

    for meta in _pages().values():
        named = {meta["author"], meta["last_editor"], meta.get("owner", meta["author"])}
        assert named <= account_ids, meta["title"]


def test_every_page_link_targets_an_existing_title() -> None:
    targets = _attribute_values("//ri:page/@ri:content-title")

    assert targets
    assert targets <= set(_pages())


def test_every_mentioned_user_exists_in_space_json() -> None:
    mentioned = _attribute_values("//ri:user/@ri:account-id")

    assert mentioned
    assert mentioned <= {user["account_id"] for user in _space()["users"]}


def test_exactly_three_pages_are_restricted_each_to_a_group_of_the_space() -> None:
    restricted = {
        title: meta["read_restriction"] for title, meta in _pages().items() if "read_restriction" in meta
    }

    assert len(restricted) == 3
    assert all(set(rule["groups"]) <= set(_space()["groups"]) for rule in restricted.values())


def test_classifications_include_public_and_confidential_pages() -> None:
    classes = [meta.get("classification") for meta in _pages().values()]

    assert classes.count("public") >= 4
    assert classes.count("confidential") >= 4


def test_updates_include_recent_and_stale_pages() -> None:
    ages = [TODAY - _updated(meta) for meta in _pages().values()]

    assert sum(age <= timedelta(days=31) for age in ages) >= 5
    assert sum(age > timedelta(days=270) for age in ages) >= 6


def test_several_pages_are_long_enough_to_need_several_chunks() -> None:
    long_pages = [title for title in _pages() if len(_text(title).split()) > 1500]

    assert len(long_pages) >= 5


@pytest.mark.parametrize(
    "xpath",
    [
        "//h1",
        "//h2",
        "//h3",
        "//th",
        "//ul/li/ul",
        "//ol/li/ol",
        "//ac:structured-macro[@ac:name='code']/ac:parameter[@ac:name='language'][.='bash']",
        "//ac:structured-macro[@ac:name='code']/ac:parameter[@ac:name='language'][.='python']",
        "//ac:structured-macro[@ac:name='code']/ac:parameter[@ac:name='language'][.='yaml']",
        "//ac:structured-macro[@ac:name='code']/ac:parameter[@ac:name='language'][.='sql']",
        "//ac:structured-macro[@ac:name='code']/ac:plain-text-body",
        "//ac:structured-macro[@ac:name='info']/ac:rich-text-body",
        "//ac:structured-macro[@ac:name='note']/ac:rich-text-body",
        "//ac:structured-macro[@ac:name='warning']/ac:rich-text-body",
        "//ac:structured-macro[@ac:name='tip']/ac:rich-text-body",
        "//ac:structured-macro[@ac:name='panel']/ac:rich-text-body",
        "//ac:structured-macro[@ac:name='toc']",
        "//ac:structured-macro[@ac:name='jira']",
        "//ac:structured-macro[@ac:name='excerpt']",
        "//ac:layout/ac:layout-section/ac:layout-cell",
        "//ac:link[ri:page][ac:link-body]",
        "//ac:link[ri:page][not(ac:link-body)]",
        "//ac:link/ri:user",
    ],
)
def test_sample_uses_each_storage_feature_the_parser_must_handle(xpath: str) -> None:
    assert any(tree.xpath(xpath, namespaces=NAMESPACES) for tree in _all_trees())


def test_some_table_has_at_least_15_rows() -> None:
    assert any(len(table.findall("./tbody/tr")) > 15 for tree in _all_trees() for table in tree.iter("table"))


def test_bodies_use_html_entities_as_confluence_stores_them() -> None:
    raw = "".join(path.read_text(encoding="utf-8") for path in BODIES)

    assert "&nbsp;" in raw
    assert "&mdash;" in raw


def test_vpn_page_answers_how_to_connect_from_home() -> None:
    text = _text("VPN Setup")

    assert "Connecting to the VPN from home" in text
    assert "GlobalProtect" in text
    assert "vpn.larkspur.example" in text
    assert "Okta Verify" in text


def test_parental_leave_page_states_the_number_of_weeks() -> None:
    text = _text("Parental Leave")

    assert re.search(r"\b16 weeks of fully paid parental leave\b", text)
