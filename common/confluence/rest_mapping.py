"""Turning Confluence v1 REST payloads into `SourcePage`, `PageRef` and `Person` values.

Pure functions with no I/O, so every rule about the payload shape sits here and is testable on fixtures.
A field we asked Confluence to expand and did not get is an error naming the page and the field: guessing
would be worse (a missing `restrictions` read as "unrestricted" would leak a private page into answers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.confluence.models import PageRef, Person, SourcePage
from common.errors import SourceError
from common.store.access import ReadRule

OWNER_LABEL_PREFIX = "owner-"
_LABEL_ESCAPE = re.compile(r"_([0-9a-f]{2})")
"""A label `owner-<username>` names the page's owner explicitly, overriding the author."""

_MISSING = object()


def _get(payload: Mapping[str, Any], path: str) -> object:
    """Follow a dotted path through nested objects; `_MISSING` when any step is absent or not an object."""
    node: object = payload
    for step in path.split("."):
        if not isinstance(node, Mapping) or step not in node:
            return _MISSING
        node = node[step]
    return node


def _bad(page_id: str, path: str, problem: str) -> SourceError:
    return _malformed(f"page {page_id}", path, problem)


def _malformed(what: str, path: str, problem: str) -> SourceError:
    """`what`: the page, space or group whose payload it is."""
    return SourceError(
        f"Confluence {what}: field {path!r} {problem}. The REST response does not have the shape of the v1 "
        "API; check that CONFLUENCE_URL is Confluence's base URL (…/wiki on Cloud)."
    )


def _text(payload: Mapping[str, Any], path: str, page_id: str) -> str:
    value = _get(payload, path)
    if not isinstance(value, str):
        raise _bad(page_id, path, "is missing" if value is _MISSING else f"is not text ({value!r})")
    return value


def _integer(payload: Mapping[str, Any], path: str, page_id: str) -> int:
    value = _get(payload, path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(page_id, path, "is missing" if value is _MISSING else f"is not a number ({value!r})")
    return value


def _mapping(payload: Mapping[str, Any], path: str, page_id: str) -> Mapping[str, Any]:
    value = _get(payload, path)
    if not isinstance(value, Mapping):
        raise _bad(page_id, path, "is missing" if value is _MISSING else "is not an object")
    return value


def _objects(payload: Mapping[str, Any], path: str, page_id: str) -> list[Mapping[str, Any]]:
    value = _get(payload, path)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _bad(page_id, path, "is missing" if value is _MISSING else "is not a list")
    if not all(isinstance(item, Mapping) for item in value):
        raise _bad(page_id, path, "holds something other than objects")
    return list(value)


def _when(payload: Mapping[str, Any], path: str, page_id: str) -> datetime:
    raw = _text(payload, path, page_id)
    try:
        return datetime.fromisoformat(raw)
    except ValueError as exc:
        raise _bad(page_id, path, f"is not an ISO-8601 timestamp ({raw!r})") from exc


def page_id_of(content: Mapping[str, Any]) -> str:
    """The content id, which every other error message names."""
    return _text(content, "id", "(without an id)")


def display_name(user: Mapping[str, Any]) -> str | None:
    """What people call this user: Cloud's displayName/publicName, or a Data Center username."""
    for key in ("displayName", "publicName", "username"):
        value = user.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def person_from_user(user: Mapping[str, Any], *, page_id: str, path: str) -> Person:
    """A `Person` from a v1 user object (Cloud: accountId/email; Data Center: userKey, usually no email)."""
    name = display_name(user)
    if name is None:
        raise _bad(page_id, f"{path}.displayName", "is missing")
    email = user.get("email")
    account_id = user.get("accountId") or user.get("userKey")
    return Person(
        name=name,
        email=email if isinstance(email, str) and email else None,
        account_id=account_id if isinstance(account_id, str) else None,
    )


def _person(content: Mapping[str, Any], path: str, page_id: str) -> Person:
    return person_from_user(_mapping(content, path, page_id), page_id=page_id, path=path)


def labels_of(content: Mapping[str, Any], page_id: str) -> tuple[str, ...]:
    labels = _objects(content, "metadata.labels.results", page_id)
    return tuple(_text(label, "name", page_id) for label in labels)


def ancestor_ids_of(content: Mapping[str, Any], page_id: str) -> tuple[str, ...]:
    """Confluence lists ancestors root first, which is the order `PageRef.ancestor_ids` promises."""
    return tuple(_text(ancestor, "id", page_id) for ancestor in _objects(content, "ancestors", page_id))


@dataclass(frozen=True, slots=True)
class Restriction:
    """The subjects of a read restriction as one payload gave them; `complete` is False when the payload
    holds one page of a longer list, which the caller must then read in full."""

    users: tuple[str, ...]
    groups: tuple[str, ...]
    complete: bool

    @property
    def rule(self) -> ReadRule | None:
        if not self.users and not self.groups:
            return None
        return ReadRule(users=self.users, groups=self.groups)


def restriction_of(subjects: Mapping[str, Any], page_id: str, *, path: str) -> Restriction:
    """The users and groups of a read restriction, from its `{"user": {...}, "group": {...}}` subjects.

    A user is known by its account id (Data Center: user key); a group by its name, which is also what
    group membership is looked up by."""
    users: list[str] = []
    groups: list[str] = []
    complete = True
    for kind, found in (("user", users), ("group", groups)):
        entries = subjects.get(kind)
        if not isinstance(entries, Mapping):
            raise _bad(page_id, f"{path}.{kind}", "is missing" if entries is None else "is not an object")
        results = entries.get("results")
        if not isinstance(results, Sequence) or isinstance(results, str):
            raise _bad(page_id, f"{path}.{kind}.results", "is missing")
        for entry in results:
            if not isinstance(entry, Mapping):
                raise _bad(page_id, f"{path}.{kind}.results", "holds something that is not an object")
            key = subject_key(entry, kind)
            if key is None:
                raise _bad(page_id, f"{path}.{kind}.results", f"holds a {kind} without an id")
            found.append(key)
        complete = complete and not _truncated(entries, shown=len(results))
    return Restriction(tuple(users), tuple(groups), complete)


def _truncated(entries: Mapping[str, Any], *, shown: int) -> bool:
    """Whether a list of results is one page of more: a total above what was shown, or a full page."""
    size, limit, total = entries.get("size"), entries.get("limit"), entries.get("totalSize")
    if isinstance(total, int):
        return total > shown
    return isinstance(size, int) and isinstance(limit, int) and 0 < limit <= size


def page_restriction(content: Mapping[str, Any], page_id: str) -> Restriction:
    """The page's own read restriction from content expanded with `restrictions.read.restrictions.*`."""
    path = "restrictions.read.restrictions"
    return restriction_of(_mapping(content, path, page_id), page_id, path=path)


def owner_from_labels(labels: Sequence[str]) -> Person | None:
    """`owner-<user>`: a name, or an email written label-safe by `owner_label` (labels hold no `@` or `.`),
    which owners are found on Slack by."""
    for label in labels:
        if label.startswith(OWNER_LABEL_PREFIX) and len(label) > len(OWNER_LABEL_PREFIX):
            raw = label[len(OWNER_LABEL_PREFIX) :]
            if "_40" not in raw:  # a plain name: `owner-jane_doe` stays as it is
                return Person(name=raw)
            email = _LABEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw)
            return Person(name=email, email=email)
    return None


def owner_label(owner: str) -> str:
    """The `owner-<user>` label for an owner (an email, usually): every character a label cannot hold, and
    the escape character itself, as `_xx` (its hex code), so `owner_from_labels` reads the email back."""
    safe = "".join(
        c if c.isascii() and (c.isalnum() or c == "-") else f"_{ord(c):02x}" for c in owner.lower()
    )
    return OWNER_LABEL_PREFIX + safe


def page_url(content: Mapping[str, Any], page_id: str, *, base_url: str | None) -> str:
    """`_links.base` + `_links.webui`; search results carry `base` on the envelope, not on each content."""
    base = _get(content, "_links.base")
    if not isinstance(base, str):
        base = base_url
    if not base:
        raise _bad(page_id, "_links.base", "is missing (neither on the page nor on the search response)")
    return base.rstrip("/") + _text(content, "_links.webui", page_id)


def page_from_content(content: Mapping[str, Any], *, base_url: str | None = None) -> SourcePage:
    """A full `SourcePage` from content expanded with body, version, history, space, ancestors, labels and
    read restrictions (see `rest_source.PAGE_EXPAND`)."""
    page_id = page_id_of(content)
    labels = labels_of(content, page_id)
    return SourcePage(
        page_id=page_id,
        space_key=_text(content, "space.key", page_id),
        title=_text(content, "title", page_id),
        url=page_url(content, page_id, base_url=base_url),
        version=_integer(content, "version.number", page_id),
        body_storage=_text(content, "body.storage.value", page_id),
        author=_person(content, "history.createdBy", page_id),
        last_editor=_person(content, "version.by", page_id),
        created_at=_when(content, "history.createdDate", page_id),
        updated_at=_when(content, "version.when", page_id),
        labels=labels,
        ancestor_ids=ancestor_ids_of(content, page_id),
        read_rule=page_restriction(content, page_id).rule,
        owner=owner_from_labels(labels),
    )


def ref_from_content(content: Mapping[str, Any], *, space_key: str) -> PageRef:
    """A `PageRef` from content expanded with version, ancestors and read restrictions only."""
    page_id = page_id_of(content)
    return PageRef(
        page_id=page_id,
        space_key=space_key,
        title=_text(content, "title", page_id),
        version=_integer(content, "version.number", page_id),
        ancestor_ids=ancestor_ids_of(content, page_id),
        read_rule=page_restriction(content, page_id).rule,
    )


def restriction_subjects(envelope: Mapping[str, Any], page_id: str) -> Mapping[str, Any]:
    """The `restrictions` of a `restriction/byOperation/read` answer."""
    return _mapping(envelope, "restrictions", page_id)


def space_rule(
    space: Mapping[str, Any], space_key: str, *, everyone_groups: frozenset[str]
) -> ReadRule | None:
    """Who may view a space, from `space/{key}?expand=permissions`: its `read`/`space` permissions.

    Open (None) when anonymous access is granted or a group every member is in may view it. A permission
    list Confluence left out, or a subject list cut short, raises: the space's pages would otherwise be
    indexed as more open than they are."""
    where = f"space {space_key}"
    permissions = space.get("permissions")
    if not isinstance(permissions, Sequence) or isinstance(permissions, str):
        raise _malformed(where, "permissions", "is missing (the account may lack 'view space permissions')")
    users: set[str] = set()
    groups: set[str] = set()
    for permission in permissions:
        if not isinstance(permission, Mapping):
            raise _malformed(where, "permissions", "holds something that is not an object")
        operation = permission.get("operation")
        if not isinstance(operation, Mapping) or (
            operation.get("operation"),
            operation.get("targetType"),
        ) != (
            "read",
            "space",
        ):
            continue
        if permission.get("anonymousAccess") is True:
            return None
        subjects = permission.get("subjects")
        if not isinstance(subjects, Mapping):
            raise _malformed(where, "permissions.subjects", "is missing")
        for kind in ("user", "group"):
            entries = subjects.get(kind)
            if entries is None:
                continue
            if not isinstance(entries, Mapping) or not isinstance(entries.get("results"), Sequence):
                raise _malformed(where, f"permissions.subjects.{kind}", "is not a list of results")
            results = entries["results"]
            if _truncated(entries, shown=len(results)) and entries.get("size") != len(results):
                raise _malformed(where, f"permissions.subjects.{kind}", "is cut short")
            for subject in results:
                key = subject_key(subject, kind)
                if key is None:
                    raise _malformed(where, f"permissions.subjects.{kind}", f"holds a {kind} without an id")
                (users if kind == "user" else groups).add(key)
    if groups & everyone_groups:
        return None
    return ReadRule(users=tuple(users), groups=tuple(groups))


def subject_key(subject: object, kind: str) -> str | None:
    """How a user (account id; Data Center: user key) or a group (name) is known in rules."""
    if not isinstance(subject, Mapping):
        return None
    key = (subject.get("accountId") or subject.get("userKey")) if kind == "user" else subject.get("name")
    return key if isinstance(key, str) and key else None


def _results(envelope: Mapping[str, Any], what: str) -> Sequence[Any]:
    results = envelope.get("results")
    if not isinstance(results, Sequence) or isinstance(results, str):
        raise _malformed(what, "results", "is missing")
    return results


def group_names(envelope: Mapping[str, Any], account_id: str) -> list[str]:
    """One page of `user/memberof`: the names of the groups a user is in."""
    names = []
    for group in _results(envelope, f"the groups of {account_id}"):
        name = group.get("name") if isinstance(group, Mapping) else None
        if not isinstance(name, str) or not name:
            raise _malformed(f"the groups of {account_id}", "results", "holds a group without a name")
        names.append(name)
    return names


def people_of(envelope: Mapping[str, Any]) -> list[Person]:
    """One page of a user search (`search/user`, or `search` with `type=user` on Data Center); entries
    without an account id (anonymous, deactivated) are skipped: nobody can be linked to them."""
    people = []
    for entry in _results(envelope, "the user search"):
        user = entry.get("user") if isinstance(entry, Mapping) else None
        if isinstance(user, Mapping) and subject_key(user, "user") is not None:
            people.append(person_from_user(user, page_id="the user search", path="results.user"))
    return people
