"""Confluence's v1 JSON for the stand-in's content, built from the real payloads in
`../shared/fixtures/confluence/rest_api_json/` with our spaces, users and pages filled in.

Only rendering happens here: which pages a request selects, and how it pages, is `confluence_standin`'s.
"""

from __future__ import annotations

import copy
import json
import re
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from werkzeug.http import HTTP_STATUS_CODES

from tests.support.confluence_content import ConfluenceContent, StandinPage
from tests.support.paths import REST_API_FIXTURES

Json = dict[str, Any]


def _fixture(name: str) -> Json:
    data: Json = json.loads((REST_API_FIXTURES / f"mcp-atlassian__{name}.json").read_text())
    return data


def iso(moment: datetime) -> str:
    """Confluence's timestamp form: milliseconds and a Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def expand_set(raw: str | None, prefix: str = "") -> set[str]:
    """An `expand` parameter as a set, keeping only items under `prefix` (with the prefix cut off)."""
    items = {item.strip() for item in (raw or "").split(",") if item.strip()}
    return {item[len(prefix) :] for item in items if item.startswith(prefix)}


def _wants(expand: set[str], name: str) -> bool:
    return any(item == name or item.startswith(name + ".") for item in expand)


def error_body(status: int, message: str) -> Json:
    """Confluence's v1 error body."""
    data = {
        "authorized": status not in (401, 403),
        "valid": True,
        "allowedInReadOnlyMode": True,
        "errors": [],
        "successful": False,
    }
    return {"statusCode": status, "data": data, "message": message, "reason": HTTP_STATUS_CODES[status]}


class Payloads:
    """Renders `content` as served from `url` (CONFLUENCE_URL: origin + `context`)."""

    def __init__(self, content: ConfluenceContent, *, url: str, context: str) -> None:
        self.content, self.url, self.context = content, url, context
        self._page_tpl = _fixture("MOCK_PAGE_RESPONSE")
        self._search_tpl = _fixture("MOCK_CQL_SEARCH_RESPONSE")
        self._labels_tpl = _fixture("MOCK_LABELS_RESPONSE")
        self._spaces_tpl = _fixture("MOCK_SPACES_RESPONSE")

    def user(self, account_id: str) -> Json:
        person = self.content.users[account_id]
        payload: Json = copy.deepcopy(self._page_tpl["version"]["by"])
        payload.update(
            accountId=person.account_id,
            email=person.email,
            publicName=person.display_name,
            displayName=person.display_name,
        )
        payload["profilePicture"]["path"] = f"{self.context}/aa-avatar/{person.account_id}"
        payload["_links"]["self"] = f"{self.url}/rest/api/user?accountId={quote(person.account_id)}"
        if person.username is not None:
            payload["username"] = person.username
        if person.user_key is not None:
            payload["userKey"] = person.user_key
        return payload

    def space(self, key: str) -> Json:
        space: Json = copy.deepcopy(self._page_tpl["space"])
        space.update(key=key, alias=key, name=self.content.spaces[key], id=zlib.crc32(key.encode()) % 10**8)
        for name, link in space["_expandable"].items():
            if link:
                space["_expandable"][name] = link.replace("PROJ", key)
        space["_links"] = {"webui": f"/spaces/{key}", "self": f"{self.url}/rest/api/space/{key}"}
        return space

    def space_list(self) -> Json:
        envelope = copy.deepcopy(self._spaces_tpl)
        envelope["results"] = [self.space(key) for key in sorted(self.content.spaces)]
        envelope.update(start=0, limit=25, size=len(self.content.spaces))
        envelope["_links"] = {"base": self.url, "context": self.context, "self": f"{self.url}/rest/api/space"}
        return envelope

    def page(self, page: StandinPage, expand: set[str]) -> Json:
        """A content object with what `expand` asks for expanded and the rest listed in `_expandable`."""
        content = copy.deepcopy(self._page_tpl)
        content.update(id=page.page_id, title=page.title, extensions={"position": int(page.page_id)})
        content["_links"].update(
            webui=_webui(page),
            self=f"{self.url}/rest/api/content/{page.page_id}",
            base=self.url,
            context=self.context,
            editui=f"/pages/resumedraft.action?draftId={page.page_id}",
            edituiv2=f"/spaces/{page.space_key}/pages/edit-v2/{page.page_id}",
            tinyui=f"/x/{page.page_id}",
        )
        expandable: Json = {
            name: link.replace("987654321", page.page_id).replace("PROJ", page.space_key) if link else ""
            for name, link in content.pop("_expandable").items()
        }
        children = content.get("children")
        builders: dict[str, Callable[[], object]] = {
            "space": lambda: self.space(page.space_key),
            "version": lambda: self._version(page),
            "history": lambda: self._history(page),
            "body": lambda: self._body(page, expand),
            "ancestors": lambda: [self.page(a, set()) for a in self.content.ancestors(page)],
            "metadata": lambda: self._metadata(page, expand),
            "restrictions": lambda: self._restrictions(page, expand),
            "children": lambda: children,
        }
        for name in builders:
            content.pop(name, None)
        for name, build in builders.items():
            if _wants(expand, name):
                content[name] = build()
                expandable.pop(name, None)
            else:
                expandable.setdefault(name, "/rest/api/space/" + page.space_key if name == "space" else "")
        content["_expandable"] = expandable
        for dotted in page.dropped:
            *parents, leaf = dotted.split(".")
            node = content
            for step in parents:
                node = node.get(step, {})
            node.pop(leaf, None)
        return content

    def labels(self, page: StandinPage) -> Json:
        envelope = copy.deepcopy(self._labels_tpl)
        envelope["results"] = _label_results(page)
        envelope["size"] = len(envelope["results"])
        envelope["_links"] = {
            "self": f"{self.url}/rest/api/content/{page.page_id}/label",
            "base": self.url,
            "context": self.context,
        }
        return envelope

    def search(
        self,
        cql: str,
        window: Sequence[StandinPage],
        *,
        start: int,
        limit: int,
        expand: set[str],
        total: int | None,
        next_params: dict[str, str | int] | None,
    ) -> Json:
        """One page of search results; `total=None` leaves out `totalSize`, `next_params=None` the
        `_links.next` link."""
        envelope = copy.deepcopy(self._search_tpl)
        template = envelope["results"][0]
        envelope["results"] = [self._result(template, page, expand) for page in window]
        envelope.update(start=start, limit=limit, size=len(window), cqlQuery=cql, searchDuration=12)
        if total is None:
            envelope.pop("totalSize", None)
        else:
            envelope["totalSize"] = total
        envelope["_links"] = {
            "base": self.url,
            "context": self.context,
            "self": f"{self.url}/rest/api/search?{urlencode({'cql': cql})}",
        }
        if next_params is not None:
            envelope["_links"]["next"] = "/rest/api/search?" + urlencode(next_params)
        return envelope

    def _result(self, template: Json, page: StandinPage, expand: set[str]) -> Json:
        result = copy.deepcopy(template)
        text = re.sub(r"<[^>]+>", " ", page.body)
        content = self.page(page, expand)
        # Search results carry only these links on each content; `base` and `context` sit on the envelope.
        content["_links"] = {key: content["_links"][key] for key in template["content"]["_links"]}
        result.update(
            content=content,
            title=page.title,
            excerpt=" ".join(text.split())[:120],
            url=_webui(page),
            lastModified=iso(page.modified),
            friendlyLastModified=page.modified.strftime("%b %d, %Y"),
            resultGlobalContainer={
                "title": self.content.spaces.get(page.space_key, page.space_key),
                "displayUrl": f"/spaces/{page.space_key}",
            },
        )
        return result

    def _version(self, page: StandinPage) -> Json:
        version: Json = copy.deepcopy(self._page_tpl["version"])
        version.update(
            by=self.user(page.modifier),
            when=iso(page.modified),
            number=page.version,
            friendlyWhen=page.modified.strftime("%b %d, %Y"),
            confRev=f"confluence$content${page.page_id}.{page.version}",
        )
        version["_expandable"]["content"] = f"/rest/api/content/{page.page_id}"
        version["_links"]["self"] = f"{self.url}/rest/api/content/{page.page_id}/version/{page.version}"
        return version

    def history(self, page: StandinPage) -> Json:
        """`GET content/{id}/history`: what atlassian-python-api reads the next version number from."""
        return {**self._history(page), "lastUpdated": self._version(page)}

    def _history(self, page: StandinPage) -> Json:
        return {
            "latest": True,
            "createdBy": self.user(page.author),
            "createdDate": iso(page.created),
            "_expandable": {"lastUpdated": "", "previousVersion": "", "contributors": "", "nextVersion": ""},
            "_links": {"self": f"{self.url}/rest/api/content/{page.page_id}/history"},
        }

    def _body(self, page: StandinPage, expand: set[str]) -> Json:
        body: Json = copy.deepcopy(self._page_tpl["body"])
        storage = body.pop("storage")
        if _wants(expand, "body.storage"):
            storage["value"] = page.body
            storage["_expandable"]["content"] = f"/rest/api/content/{page.page_id}"
            body["storage"] = storage
        else:
            body["_expandable"]["storage"] = ""
        return body

    def _metadata(self, page: StandinPage, expand: set[str]) -> Json:
        unexpanded = ("currentuser", "comments", "simple", "properties", "frontend", "likes")
        metadata: Json = {"_expandable": dict.fromkeys(unexpanded, "")}
        if _wants(expand, "metadata.labels"):
            labels = _label_results(page)
            metadata["labels"] = {
                "results": labels,
                "start": 0,
                "limit": 200,
                "size": len(labels),
                "_links": {"self": f"{self.url}/rest/api/content/{page.page_id}/label"},
            }
        else:
            metadata["_expandable"]["labels"] = ""
        return metadata

    def _restrictions(self, page: StandinPage, expand: set[str]) -> Json:
        link = f"/rest/api/content/{page.page_id}/restriction/byOperation"
        if not _wants(expand, "restrictions.read"):
            return {"_expandable": {"read": link + "/read", "update": link + "/update"}}
        kinds = {
            kind for kind in ("user", "group") if _wants(expand, f"restrictions.read.restrictions.{kind}")
        }
        read = self.restriction(page, start=0, limit=self.content.restriction_limit, kinds=kinds)
        return {"read": read, "_expandable": {"update": link + "/update"}, "_links": {"base": self.url}}

    def restriction(self, page: StandinPage, *, start: int, limit: int, kinds: set[str]) -> Json:
        """`content/{id}/restriction/byOperation/read`: both subject lists paged by `start` and `limit`."""
        entries = {
            "user": [self.user(u) for u in page.read_users if u in self.content.users],
            "group": [{"type": "group", "name": g, "id": f"group-{g}"} for g in page.read_groups],
        }
        subjects: Json = {}
        for kind, results in entries.items():
            if kind in kinds:
                window = results[start : start + limit]
                subjects[kind] = {"results": window, "start": start, "limit": limit, "size": len(window)}
        subjects["_expandable"] = {k: "" for k in entries if k not in subjects}
        return {
            "operation": "read",
            "restrictions": subjects,
            "_expandable": {"content": f"/rest/api/content/{page.page_id}"},
            "_links": {"self": f"{self.url}/rest/api/content/{page.page_id}/restriction/byOperation/read"},
        }

    def space_permissions(self, key: str) -> list[Json]:
        """The `permissions` of `space/{key}?expand=permissions`: who may view it, and (ignored by readers
        of view access) who may create pages."""
        users, groups = self.content.space_viewers.get(key, ([], ["confluence-users"]))
        subjects: Json = {
            "user": {"results": [self.user(u) for u in users], "size": len(users)},
            "group": {
                "results": [{"type": "group", "name": g, "id": f"group-{g}"} for g in groups],
                "size": len(groups),
            },
        }
        view = {
            "id": 1,
            "subjects": subjects,
            "operation": {"operation": "read", "targetType": "space"},
            "anonymousAccess": False,
            "unlicensedAccess": False,
        }
        create = {
            "id": 2,
            "subjects": {"group": {"results": [{"type": "group", "name": "space-editors"}], "size": 1}},
            "operation": {"operation": "create", "targetType": "page"},
            "anonymousAccess": False,
            "unlicensedAccess": False,
        }
        return [view, create]

    def memberof(self, account_id: str, *, start: int, limit: int) -> Json:
        """`user/memberof`: the groups a user is in, one page of them."""
        names = sorted(name for name, members in self.content.groups.items() if account_id in members)
        window = [
            {
                "type": "group",
                "name": name,
                "id": f"{zlib.crc32(name.encode()):08x}-group",
                "_links": {
                    "self": f"{self.url}/rest/api/group/by-id?id={zlib.crc32(name.encode()):08x}-group"
                },
            }
            for name in names[start : start + limit]
        ]
        return self._envelope(window, start=start, limit=limit, path=f"user/memberof?accountId={account_id}")

    def user_search(self, *, start: int, limit: int) -> Json:
        """`search/user?cql=type=user`: each result wraps a user object, as Cloud's search results do."""
        people = sorted(self.content.users)
        window = [
            {
                "user": self.user(account_id),
                "title": self.content.users[account_id].display_name,
                "entityType": "user",
                "score": 0.0,
            }
            for account_id in people[start : start + limit]
        ]
        return self._envelope(window, start=start, limit=limit, path="search/user")

    def _envelope(self, results: list[Json], *, start: int, limit: int, path: str) -> Json:
        return {
            "results": results,
            "start": start,
            "limit": limit,
            "size": len(results),
            "_links": {"base": self.url, "context": self.context, "self": f"{self.url}/rest/api/{path}"},
        }


def _webui(page: StandinPage) -> str:
    return f"/spaces/{page.space_key}/pages/{page.page_id}/{quote(page.title.replace(' ', '+'), safe='+')}"


def _label_results(page: StandinPage) -> list[Json]:
    return [
        {"prefix": "global", "name": name, "id": str(9000 + i), "label": name}
        for i, name in enumerate(page.labels)
    ]
