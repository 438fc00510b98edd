"""Pages from a folder on disk, so the product runs with no Confluence at all (the bundled sample space).

Layout: `space.json` holds the space key, name, base URL, default classification, the users pages refer
to, the groups (name → member account ids) and who may view the space (`view`, absent: everyone);
`pages/<id>-<slug>.json` holds one page's metadata, with its read restriction if it has one
(`read_restriction`: account ids and group names, as Confluence's), and `pages/<id>-<slug>.xhtml` its body
in storage format. The whole folder is checked when the source is built: a defect anywhere stops a sync
before it starts, instead of leaving a space half-synced with the bad page silently missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, quote_plus

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from common.confluence.models import PageRef, Person, SourcePage
from common.errors import SourceError, SourceNotFound
from common.store.access import ReadRule
from common.store.chunk import Classification, SourceKind

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)
"""Unknown keys are refused: a misspelt `clasification` must not silently leave a page at the default."""


class _User(BaseModel):
    model_config = _STRICT

    account_id: str = Field(min_length=1)
    username: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: str | None = None


class _Restriction(BaseModel):
    model_config = _STRICT

    users: list[str] = []
    groups: list[str] = []

    @property
    def rule(self) -> ReadRule:
        return ReadRule(users=tuple(self.users), groups=tuple(self.groups))


class _Space(BaseModel):
    model_config = _STRICT

    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    base_url: str = Field(min_length=1)
    default_classification: Classification
    users: list[_User]
    groups: dict[str, list[str]] = {}
    view: _Restriction | None = None


class _PageMeta(BaseModel):
    model_config = _STRICT

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    parent_id: str | None
    version: int = Field(ge=1)
    created: AwareDatetime
    updated: AwareDatetime
    author: str
    last_editor: str
    owner: str | None = None
    labels: list[str]
    read_restriction: _Restriction | None = None
    classification: str | None = None
    """Passed on unjudged: governance rejects an unknown value for this page alone, not the whole space."""


@dataclass(frozen=True, slots=True)
class _Entry:
    meta: _PageMeta
    json_path: Path
    body_path: Path
    ancestor_ids: tuple[str, ...] = ()


_Model = TypeVar("_Model", bound=BaseModel)


class FolderPageSource:
    """A `PageSource` over one space stored as files, read the way the REST source reads Confluence."""

    kind: SourceKind = "folder"

    def __init__(self, root: Path) -> None:
        self._root = root
        self._space = _read_space(root / "space.json")
        self._users = {user.account_id: user for user in self._space.users}
        self._usernames = {user.username: user for user in self._space.users}
        _check_groups(root / "space.json", self._space, self._users)
        self._pages = _with_ancestors(_read_pages(root / "pages", self._users, self._space.groups))

    @property
    def default_classification(self) -> Classification:
        """The space's classification, for pages that carry none of their own."""
        return self._space.default_classification

    def space_keys(self) -> list[str]:
        return [self._space.key]

    def changed_pages(self, space_key: str, since: datetime | None) -> Iterator[SourcePage]:
        """Bodies are read as the caller iterates; a wrong space key fails at the call, not mid-iteration."""
        entries = sorted(
            self._changed(space_key, since), key=lambda entry: (entry.meta.updated, entry.meta.id)
        )
        return (self._source_page(entry) for entry in entries)

    def count_changed_pages(self, space_key: str, since: datetime | None) -> int:
        """Page files changed since `since`, counted from their metadata (read when the source was built)."""
        return len(self._changed(space_key, since))

    def _changed(self, space_key: str, since: datetime | None) -> list[_Entry]:
        self._check_space(space_key)
        cutoff = None if since is None else _as_utc(since)
        return [entry for entry in self._pages.values() if cutoff is None or entry.meta.updated >= cutoff]

    def list_pages(self, space_key: str) -> list[PageRef]:
        """Every page, restricted ones included and flagged: the caller decides what to index."""
        self._check_space(space_key)
        return [self._ref(entry) for entry in self._pages.values()]

    def space_read_rule(self, space_key: str) -> ReadRule | None:
        self._check_space(space_key)
        return self._space.view.rule if self._space.view is not None else None

    def groups_of(self, account_id: str) -> frozenset[str]:
        if account_id not in self._users:
            raise SourceNotFound(f"No user {account_id!r} in {self._root / 'space.json'}.")
        return frozenset(name for name, members in self._space.groups.items() if account_id in members)

    def people(self) -> list[Person]:
        """Everyone space.json names, for finding an account by email."""
        return [self._person(account_id) for account_id in self._users]

    def get_page(self, page_id: str) -> SourcePage:
        entry = self._pages.get(page_id)
        if entry is None:
            raise SourceError(f"No page with id {page_id!r} in {self._root / 'pages'}.")
        return self._source_page(entry)

    def user_name(self, ref: str) -> str | None:
        user = self._users.get(ref) or self._usernames.get(ref)
        return user.name if user else None

    def _check_space(self, space_key: str) -> None:
        if space_key != self._space.key:
            raise SourceError(
                f"Space {space_key!r} is not in {self._root}, which holds space {self._space.key!r}. "
                "Sync that key, or point SAMPLE_SPACE_DIR at the folder of the space you want."
            )

    def _ref(self, entry: _Entry) -> PageRef:
        return PageRef(
            page_id=entry.meta.id,
            space_key=self._space.key,
            title=entry.meta.title,
            version=entry.meta.version,
            ancestor_ids=entry.ancestor_ids,
            read_rule=_rule(entry.meta),
        )

    def _source_page(self, entry: _Entry) -> SourcePage:
        meta = entry.meta
        return SourcePage(
            page_id=meta.id,
            space_key=self._space.key,
            title=meta.title,
            url=self._url(meta),
            version=meta.version,
            body_storage=_read_body(entry.body_path),
            author=self._person(meta.author),
            last_editor=self._person(meta.last_editor),
            created_at=meta.created,
            updated_at=meta.updated,
            labels=tuple(meta.labels),
            ancestor_ids=entry.ancestor_ids,
            read_rule=_rule(meta),
            owner=self._person(meta.owner) if meta.owner else None,
            classification=meta.classification,
        )

    def _url(self, meta: _PageMeta) -> str:
        """The address Confluence Cloud gives the same page, so citations look the same from either source."""
        base = self._space.base_url.rstrip("/")
        return f"{base}/spaces/{quote(self._space.key)}/pages/{quote(meta.id)}/{quote_plus(meta.title)}"

    def _person(self, account_id: str) -> Person:
        user = self._users[account_id]
        return Person(name=user.name, email=user.email, account_id=user.account_id)


def _read_space(path: Path) -> _Space:
    if not path.is_file():
        raise SourceError(
            f"{path} is missing. A page folder needs a space.json with the space key, name, base_url, "
            "default_classification and users; point SAMPLE_SPACE_DIR at such a folder."
        )
    return _parse(_Space, path)


def _rule(meta: _PageMeta) -> ReadRule | None:
    return meta.read_restriction.rule if meta.read_restriction is not None else None


def _check_groups(path: Path, space: _Space, users: dict[str, _User]) -> None:
    for group, members in space.groups.items():
        if unknown := [m for m in members if m not in users]:
            raise SourceError(f"{path}: group {group!r} lists unknown users {unknown}; add them to users.")
    if space.view is not None:
        _check_restriction(path, "view", space.view, users, space.groups)


def _check_restriction(
    path: Path, field: str, restriction: _Restriction, users: dict[str, _User], groups: dict[str, list[str]]
) -> None:
    """A restriction naming someone unknown is a defect: it would lock out, silently, whoever was meant."""
    if unknown := [u for u in restriction.users if u not in users]:
        raise SourceError(f"{path}: {field} names unknown users {unknown}; add them to space.json.")
    if unknown := [g for g in restriction.groups if g not in groups]:
        raise SourceError(f"{path}: {field} names unknown groups {unknown}; add them to space.json's groups.")


def _read_pages(folder: Path, users: dict[str, _User], groups: dict[str, list[str]]) -> dict[str, _Entry]:
    if not folder.is_dir():
        raise SourceError(f"{folder} is missing: a page folder keeps its pages in a pages/ subfolder.")
    pages: dict[str, _Entry] = {}
    for json_path in sorted(folder.glob("*.json")):
        entry = _read_entry(json_path, users, groups)
        if entry.meta.id in pages:
            other = pages[entry.meta.id].json_path
            raise SourceError(f"{json_path}: page id {entry.meta.id!r} is already used by {other}.")
        pages[entry.meta.id] = entry
    return pages


def _read_entry(json_path: Path, users: dict[str, _User], groups: dict[str, list[str]]) -> _Entry:
    meta = _parse(_PageMeta, json_path)
    if meta.read_restriction is not None:
        _check_restriction(json_path, "read_restriction", meta.read_restriction, users, groups)
    for field in ("author", "last_editor", "owner"):
        account_id = getattr(meta, field)
        if account_id is not None and account_id not in users:
            raise SourceError(
                f"{json_path}: field {field!r} names unknown user {account_id!r}; "
                "add them to the users in space.json."
            )
    body_path = json_path.with_suffix(".xhtml")
    if not body_path.is_file():
        raise SourceError(f"{json_path}: its body file {body_path.name} is missing.")
    return _Entry(meta=meta, json_path=json_path, body_path=body_path)


def _with_ancestors(pages: dict[str, _Entry]) -> dict[str, _Entry]:
    return {
        page_id: replace(entry, ancestor_ids=_ancestor_ids(page_id, pages))
        for page_id, entry in pages.items()
    }


def _ancestor_ids(page_id: str, pages: dict[str, _Entry]) -> tuple[str, ...]:
    """Root first, as Confluence lists ancestors; a dangling or looping parent is a defect, not a new root."""
    chain: list[str] = []
    entry = pages[page_id]
    while entry.meta.parent_id is not None:
        parent = pages.get(entry.meta.parent_id)
        if parent is None:
            raise SourceError(
                f"{entry.json_path}: parent_id {entry.meta.parent_id!r} is not a page in this folder."
            )
        if parent.meta.id == page_id or parent.meta.id in chain:
            raise SourceError(
                f"{pages[page_id].json_path}: the parent chain loops back through page {parent.meta.id!r}."
            )
        chain.append(parent.meta.id)
        entry = parent
    return tuple(reversed(chain))


def _parse(model: type[_Model], path: Path) -> _Model:
    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    except ValidationError as exc:
        raise SourceError(f"{path}: {_problems(exc)}") from exc


def _problems(exc: ValidationError) -> str:
    """Each problem with the field it concerns; JSON syntax errors have no field and say where they are."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        parts.append(f"field {field!r}: {error['msg']}" if field else error["msg"])
    return "; ".join(parts)


def _read_body(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"Cannot read page body {path}: {exc}.") from exc


def _as_utc(moment: datetime) -> datetime:
    """Page times are aware; a naive `since` from a caller is taken as UTC rather than failing to compare."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
