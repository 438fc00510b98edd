"""The folder page source: the bundled sample space for what it yields, hand-made folders for defects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from common.config import SAMPLE_SPACE_DIR
from common.confluence.folder_source import FolderPageSource
from common.confluence.models import PageSource, Person
from common.errors import SourceError, SourceNotFound
from common.store.access import ReadRule

SPACE = "HB"


@pytest.fixture(scope="module")
def sample() -> FolderPageSource:
    return FolderPageSource(SAMPLE_SPACE_DIR)


def _space_json(**overrides: Any) -> dict[str, Any]:
    space: dict[str, Any] = {
        "key": "T",
        "name": "Test space",
        "base_url": "https://wiki.test/wiki",
        "default_classification": "internal",
        "users": [
            {"account_id": "acc:ann", "username": "ann", "name": "Ann Example", "email": "ann@test.example"},
            {"account_id": "acc:bob", "username": "bob", "name": "Bob Example", "email": "bob@test.example"},
        ],
    }
    return space | overrides


def _page_json(page_id: str, **overrides: Any) -> dict[str, Any]:
    page: dict[str, Any] = {
        "id": page_id,
        "title": f"Page {page_id}",
        "parent_id": None,
        "version": 1,
        "created": "2026-01-01T09:00:00Z",
        "updated": "2026-02-01T09:00:00Z",
        "author": "acc:ann",
        "last_editor": "acc:bob",
        "labels": [],
    }
    return page | overrides


def _make_folder(root: Path, *pages: dict[str, Any], space: dict[str, Any] | None = None) -> Path:
    (root / "pages").mkdir(parents=True)
    (root / "space.json").write_text(json.dumps(space or _space_json()))
    for page in pages:
        stem = root / "pages" / f"{page.get('id', 'x')}-page"
        stem.with_suffix(".json").write_text(json.dumps(page))
        stem.with_suffix(".xhtml").write_text(f"<p>Body of {page.get('id')}</p>")
    return root


def _error(root: Path) -> str:
    with pytest.raises(SourceError) as caught:
        FolderPageSource(root)
    return str(caught.value)


# The sample space, as the product sees it


def test_folder_source_satisfies_the_page_source_protocol(sample: FolderPageSource) -> None:
    source: PageSource = sample
    assert source.kind == "folder"


def test_space_keys_returns_the_key_from_space_json(sample: FolderPageSource) -> None:
    assert sample.space_keys() == [SPACE]


def test_default_classification_comes_from_space_json(sample: FolderPageSource) -> None:
    assert sample.default_classification == "internal"


def test_list_pages_includes_restricted_pages_with_their_read_restriction(sample: FolderPageSource) -> None:
    refs = {ref.page_id: ref for ref in sample.list_pages(SPACE)}

    assert len(refs) == len(list((SAMPLE_SPACE_DIR / "pages").glob("*.json")))
    assert refs["1213"].read_rule == ReadRule(groups=("hr",))
    assert refs["1101"].read_rule is None


def test_list_pages_carries_title_version_and_ancestors(sample: FolderPageSource) -> None:
    ref = next(ref for ref in sample.list_pages(SPACE) if ref.page_id == "1101")

    assert (ref.space_key, ref.title, ref.version) == (SPACE, "VPN Setup", 7)
    assert ref.ancestor_ids == ("1000", "1100")


def test_changed_pages_without_since_returns_every_page_oldest_first(sample: FolderPageSource) -> None:
    pages = list(sample.changed_pages(SPACE, None))
    updated = [page.updated_at for page in pages]

    assert len(pages) == len(sample.list_pages(SPACE))
    assert updated == sorted(updated)


def test_changed_pages_since_returns_only_newer_pages_oldest_first(sample: FolderPageSource) -> None:
    since = datetime(2026, 11, 10, tzinfo=UTC)

    pages = list(sample.changed_pages(SPACE, since))

    assert [page.page_id for page in pages] == ["1000", "1211", "1302", "1101", "1107", "1213", "1214"]


def test_changed_pages_includes_a_page_updated_exactly_at_since(sample: FolderPageSource) -> None:
    vpn = sample.get_page("1101")

    ids = [page.page_id for page in sample.changed_pages(SPACE, vpn.updated_at)]

    assert ids[0] == "1101"


def test_changed_pages_reads_a_naive_since_as_utc(sample: FolderPageSource) -> None:
    aware = [page.page_id for page in sample.changed_pages(SPACE, datetime(2026, 11, 10, tzinfo=UTC))]
    naive = [page.page_id for page in sample.changed_pages(SPACE, datetime(2026, 11, 10))]

    assert naive == aware


def test_changed_pages_yields_restricted_pages_with_their_read_restriction(sample: FolderPageSource) -> None:
    restricted = {page.page_id for page in sample.changed_pages(SPACE, None) if page.restricted}

    assert restricted == {"1213", "1214", "1313"}


def test_a_users_groups_come_from_space_json(sample: FolderPageSource) -> None:
    assert sample.groups_of("557058:hannah") == {"hr", "leadership"}


def test_the_groups_of_an_unknown_user_are_refused(sample: FolderPageSource) -> None:
    with pytest.raises(SourceNotFound, match="No user 'acc:nobody'"):
        sample.groups_of("acc:nobody")


def test_a_space_without_a_view_restriction_is_open_to_every_member(sample: FolderPageSource) -> None:
    assert sample.space_read_rule(SPACE) is None


def test_a_space_view_restriction_is_its_read_rule(tmp_path: Path) -> None:
    space = _space_json(groups={"staff": ["acc:ann"]}, view={"groups": ["staff"]})

    source = FolderPageSource(_make_folder(tmp_path, _page_json("1"), space=space))

    assert source.space_read_rule("T") == ReadRule(groups=("staff",))


def test_a_restriction_naming_an_unknown_group_is_refused(tmp_path: Path) -> None:
    folder = _make_folder(tmp_path, _page_json("1", read_restriction={"groups": ["ghosts"]}))

    with pytest.raises(SourceError, match=r"unknown groups \['ghosts'\]"):
        FolderPageSource(folder)


def test_a_group_listing_an_unknown_user_is_refused(tmp_path: Path) -> None:
    space = _space_json(groups={"staff": ["acc:nobody"]})

    with pytest.raises(SourceError, match=r"group 'staff' lists unknown users"):
        FolderPageSource(_make_folder(tmp_path, _page_json("1"), space=space))


def test_get_page_maps_metadata_and_body(sample: FolderPageSource) -> None:
    page = sample.get_page("1101")

    assert page.title == "VPN Setup"
    assert page.space_key == SPACE
    assert page.version == 7
    assert page.created_at == datetime(2025, 3, 2, 9, 15, tzinfo=UTC)
    assert page.updated_at == datetime(2026, 11, 18, 16, 40, tzinfo=UTC)
    assert page.labels == ("it", "vpn", "remote-work", "globalprotect")
    assert page.read_rule is None
    assert "vpn.larkspur.example" in page.body_storage
    assert page.body_storage == (SAMPLE_SPACE_DIR / "pages" / "1101-vpn-setup.xhtml").read_text()


def test_get_page_resolves_author_editor_and_owner_to_people(sample: FolderPageSource) -> None:
    page = sample.get_page("1101")

    assert page.author == Person("Priya Raman", "priya.raman@larkspur.example", "557058:priya")
    assert page.last_editor == Person("Tom Okafor", "tom.okafor@larkspur.example", "557058:tom")
    assert page.owner == page.author


def test_owner_is_none_when_the_page_names_none(sample: FolderPageSource) -> None:
    assert sample.get_page("1102").owner is None


def test_classification_is_the_page_field_or_none_for_the_space_default(sample: FolderPageSource) -> None:
    assert sample.get_page("1308").classification == "public"
    assert sample.get_page("1213").classification == "confidential"
    assert sample.get_page("1101").classification is None


def test_url_follows_confluence_cloud_with_the_title_quoted(sample: FolderPageSource) -> None:
    assert sample.get_page("1104").url == (
        "https://larkspur.example/wiki/spaces/HB/pages/1104/Single+Sign-On+%28SSO%29"
    )


def test_ancestor_ids_run_from_the_root_to_the_parent(sample: FolderPageSource) -> None:
    assert sample.get_page("1313").ancestor_ids == ("1000", "1300")


def test_home_page_has_no_ancestors(sample: FolderPageSource) -> None:
    assert sample.get_page("1000").ancestor_ids == ()


def test_user_name_resolves_an_account_id_or_a_username(sample: FolderPageSource) -> None:
    assert sample.user_name("557058:hannah") == "Hannah Lindqvist"
    assert sample.user_name("hlindqvist") == "Hannah Lindqvist"


def test_user_name_of_an_unknown_user_is_none(sample: FolderPageSource) -> None:
    assert sample.user_name("557058:nobody") is None


def test_get_page_with_an_unknown_id_raises_source_error(sample: FolderPageSource) -> None:
    with pytest.raises(SourceError, match="9999"):
        sample.get_page("9999")


def test_an_unknown_space_key_raises_at_the_call(sample: FolderPageSource) -> None:
    with pytest.raises(SourceError, match="'XX'"):
        sample.list_pages("XX")
    with pytest.raises(SourceError, match="'XX'"):
        sample.changed_pages("XX", None)


# Defects in a folder


def test_missing_space_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()

    assert str(tmp_path / "space.json") in _error(tmp_path)


def test_missing_pages_folder_names_the_folder(tmp_path: Path) -> None:
    (tmp_path / "space.json").write_text(json.dumps(_space_json()))

    assert str(tmp_path / "pages") in _error(tmp_path)


def test_space_json_missing_a_field_names_file_and_field(tmp_path: Path) -> None:
    space = _space_json()
    del space["base_url"]
    _make_folder(tmp_path, space=space)

    message = _error(tmp_path)

    assert "space.json" in message
    assert "'base_url'" in message


def test_missing_page_field_names_file_and_field(tmp_path: Path) -> None:
    page = _page_json("1")
    del page["version"]
    _make_folder(tmp_path, page)

    message = _error(tmp_path)

    assert "1-page.json" in message
    assert "'version'" in message


def test_unparseable_page_json_names_the_file(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1"))
    (tmp_path / "pages" / "1-page.json").write_text('{"id": "1",')

    message = _error(tmp_path)

    assert "1-page.json" in message
    assert "JSON" in message


def test_unknown_page_field_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1", clasification="confidential"))

    assert "'clasification'" in _error(tmp_path)


def test_unknown_classification_is_passed_on_for_governance_to_reject_per_page(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1", classification="top-secret"))

    assert FolderPageSource(tmp_path).get_page("1").classification == "top-secret"


def test_non_string_classification_names_the_field(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1", classification=3))

    assert "'classification'" in _error(tmp_path)


def test_timestamp_without_a_timezone_is_refused(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1", updated="2026-02-01T09:00:00"))

    assert "'updated'" in _error(tmp_path)


def test_unknown_user_names_file_field_and_account_id(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1", last_editor="acc:zoe"))

    message = _error(tmp_path)

    assert "1-page.json" in message
    assert "'last_editor'" in message
    assert "'acc:zoe'" in message


def test_unknown_owner_is_refused(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1", owner="acc:zoe"))

    assert "'owner'" in _error(tmp_path)


def test_missing_body_file_names_the_page_and_the_body(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1"))
    (tmp_path / "pages" / "1-page.xhtml").unlink()

    message = _error(tmp_path)

    assert "1-page.json" in message
    assert "1-page.xhtml" in message


def test_parent_that_is_not_a_page_names_the_child_file(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1"), _page_json("2", parent_id="404"))

    message = _error(tmp_path)

    assert "2-page.json" in message
    assert "'404'" in message


def test_parent_chain_that_loops_is_refused(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1", parent_id="2"), _page_json("2", parent_id="1"))

    assert "loops" in _error(tmp_path)


def test_duplicate_page_id_names_both_files(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1"))
    (tmp_path / "pages" / "1-copy.json").write_text(json.dumps(_page_json("1")))
    (tmp_path / "pages" / "1-copy.xhtml").write_text("<p>copy</p>")

    message = _error(tmp_path)

    assert "1-copy.json" in message
    assert "1-page.json" in message


def test_unreadable_body_raises_source_error_when_the_page_is_read(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1"))
    source = FolderPageSource(tmp_path)
    (tmp_path / "pages" / "1-page.xhtml").write_bytes(b"\xff\xfe not utf-8")

    with pytest.raises(SourceError, match=r"1-page\.xhtml"):
        source.get_page("1")


def test_hand_made_folder_builds_pages_from_its_own_space(tmp_path: Path) -> None:
    _make_folder(tmp_path, _page_json("1"), _page_json("2", parent_id="1", title="Child & more"))

    page = FolderPageSource(tmp_path).get_page("2")

    assert page.url == "https://wiki.test/wiki/spaces/T/pages/2/Child+%26+more"
    assert page.ancestor_ids == ("1",)
    assert page.body_storage == "<p>Body of 2</p>"
