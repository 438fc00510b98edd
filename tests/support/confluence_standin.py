"""An HTTP stand-in for Confluence's v1 REST API, for tests of code that talks to Confluence over the wire.

Confluence cannot run here, so this serves the few real paths the product uses, at Cloud's layout
(`/wiki/rest/api/...`; `context_path=""` gives Data Center's), and nothing else: an unknown path gets
Confluence's 404 error body, so a client calling a path Confluence lacks fails here too. Every response is
built from the real payloads in `../shared/fixtures/confluence/rest_api_json/`, filled in from pages held in
memory. Faults (429 with Retry-After, 500, a hang past the client's timeout, a malformed body) can be queued,
and every request is logged with its arrival time.

    with ConfluenceStandin() as confluence:
        confluence.add_space("ENG")
        page_id = confluence.add_page("ENG", "Runbook", "<p>Restart it.</p>")
        confluence.fail("429", retry_after=1)
        ...  # point the client at confluence.url with confluence.user / confluence.token
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Self
from urllib.parse import quote, urlencode

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.support.paths import REST_API_FIXTURES

FIXTURES = REST_API_FIXTURES
FaultKind = Literal["429", "500", "hang", "malformed"]
Json = dict[str, Any]


def _fixture(name: str) -> Json:
    data: Json = json.loads((FIXTURES / f"mcp-atlassian__{name}.json").read_text())
    return data


def iso(moment: datetime) -> str:
    """Confluence's timestamp form: milliseconds and a Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class StandinUser:
    account_id: str
    display_name: str
    email: str = ""
    username: str | None = None
    user_key: str | None = None


@dataclass
class StandinPage:
    page_id: str
    space_key: str
    title: str
    body: str
    author: str
    created: datetime
    modified: datetime
    modifier: str
    version: int = 1
    labels: list[str] = field(default_factory=list)
    parent_id: str | None = None
    read_users: list[str] = field(default_factory=list)
    read_groups: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    """Dotted fields left out of this page's content JSON, to test how clients face incomplete payloads."""


@dataclass
class Fault:
    kind: FaultKind
    remaining: int
    path: str | None
    after: int
    retry_after: str | None
    hang_seconds: float


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    time: float
    """`time.monotonic()` when the request arrived."""
    authorization: str
    status: int | None = None


@dataclass
class _Cql:
    space: str | None
    type: str | None
    since: datetime | None
    descending: bool

    _CLAUSE = re.compile(
        r'^\s*(?:(space)\s*=\s*"([^"]*)"|(type)\s*=\s*"?(\w+)"?|(lastmodified)\s*>=\s*"([^"]+)")\s*$', re.I
    )

    @classmethod
    def parse(cls, text: str) -> _Cql:
        """The query shapes the product sends: `space = "X" AND type = page [AND lastmodified >= "…"]
        [ORDER BY lastmodified ASC|DESC]`. Anything else raises ValueError (answered as a 400)."""
        parts = re.split(r"\s+order\s+by\s+", text, maxsplit=1, flags=re.I)
        where, order = parts[0], (parts[1] if len(parts) > 1 else "")
        found: dict[str, str] = {}
        for clause in re.split(r"\s+and\s+", where, flags=re.I):
            match = cls._CLAUSE.match(clause)
            if not match:
                raise ValueError(f"Could not parse cql : {text}")
            groups = [g for g in match.groups() if g is not None]
            found[groups[0].lower()] = groups[1]
        if order and not re.fullmatch(r"\s*lastmodified(\s+(asc|desc))?\s*", order, flags=re.I):
            raise ValueError(f"Could not parse cql : {text}")
        since = found.get("lastmodified")
        return cls(
            space=found.get("space"),
            type=found.get("type"),
            since=datetime.strptime(since, "%Y/%m/%d %H:%M").replace(tzinfo=UTC) if since else None,
            descending=bool(re.search(r"desc\s*$", order, flags=re.I)),
        )


def _expand_set(raw: str | None, prefix: str = "") -> set[str]:
    items = {item.strip() for item in (raw or "").split(",") if item.strip()}
    return {item[len(prefix) :] for item in items if item.startswith(prefix)}


def _wants(expand: set[str], name: str) -> bool:
    return any(item == name or item.startswith(name + ".") for item in expand)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests read the request log instead of stderr."""


class ConfluenceStandin:
    """Confluence on 127.0.0.1 with an ephemeral port; a context manager that starts and stops it."""

    def __init__(
        self,
        *,
        user: str | None = "bot@example.com",
        token: str = "standin-token",
        context_path: str = "/wiki",
        next_links: bool = True,
        next_link_expand: bool = True,
        total_size: bool = True,
        max_limit: int = 250,
    ) -> None:
        """`user=None` expects a bearer PAT (Data Center); otherwise basic auth with `user:token` (Cloud).
        `next_links` adds Cloud's `_links.next` (`next_link_expand=False` leaves `expand` out of it);
        `total_size=False` leaves out `totalSize`; `max_limit` caps `limit` like Confluence does."""
        self.user, self.token, self.context = user, token, context_path.rstrip("/")
        self.next_links, self.next_link_expand = next_links, next_link_expand
        self.total_size, self.max_limit = total_size, max_limit
        self.spaces: dict[str, str] = {}
        self.users: dict[str, StandinUser] = {}
        self.pages: dict[str, StandinPage] = {}
        self.requests: list[LoggedRequest] = []
        self._faults: list[Fault] = []
        self._ids = itertools.count(100001)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._page_tpl = _fixture("MOCK_PAGE_RESPONSE")
        self._search_tpl = _fixture("MOCK_CQL_SEARCH_RESPONSE")
        self._labels_tpl = _fixture("MOCK_LABELS_RESPONSE")
        self._spaces_tpl = _fixture("MOCK_SPACES_RESPONSE")
        self.add_user("standin-admin", "Standin Admin", email="admin@example.com")

    # lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> Self:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="confluence-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def url(self) -> str:
        """What CONFLUENCE_URL would be: `http://127.0.0.1:PORT/wiki` in Cloud's layout."""
        return self.origin + self.context

    # content ---------------------------------------------------------------------------------------------
    def add_space(self, key: str, name: str | None = None) -> None:
        self.spaces[key] = name or f"{key} Space"

    def add_user(self, account_id: str, display_name: str, **details: str) -> StandinUser:
        self.users[account_id] = StandinUser(account_id, display_name, **details)
        return self.users[account_id]

    def add_page(
        self,
        space_key: str,
        title: str,
        body: str = "<p>Body</p>",
        *,
        author: str = "standin-admin",
        parent_id: str | None = None,
        labels: Iterable[str] = (),
        created: datetime | None = None,
        modified: datetime | None = None,
    ) -> str:
        with self._lock:
            page_id = str(next(self._ids))
            created = created or datetime.now(UTC)
            self.pages[page_id] = StandinPage(
                page_id,
                space_key,
                title,
                body,
                author,
                created,
                modified or created,
                author,
                labels=list(labels),
                parent_id=parent_id,
            )
        return page_id

    def edit_page(
        self,
        page_id: str,
        *,
        body: str | None = None,
        title: str | None = None,
        editor: str | None = None,
        when: datetime | None = None,
    ) -> None:
        """A new version: number + 1, lastModified now (or `when`)."""
        with self._lock:
            page = self.pages[page_id]
            page.body = page.body if body is None else body
            page.title = page.title if title is None else title
            page.modifier = editor or page.modifier
            page.modified = when or datetime.now(UTC)
            page.version += 1

    def delete_page(self, page_id: str) -> None:
        with self._lock:
            del self.pages[page_id]

    def restrict(self, page_id: str, *, users: Iterable[str] = (), groups: Iterable[str] = ()) -> None:
        with self._lock:
            self.pages[page_id].read_users = list(users)
            self.pages[page_id].read_groups = list(groups)

    def drop_field(self, page_id: str, dotted: str) -> None:
        self.pages[page_id].dropped.append(dotted)

    # faults and log --------------------------------------------------------------------------------------
    def fail(
        self,
        kind: FaultKind,
        *,
        times: int = 1,
        path: str | None = None,
        after: int = 0,
        retry_after: int | str | None = None,
        hang_seconds: float = 3.0,
    ) -> None:
        """The next `times` requests (whose path contains `path`, after skipping `after` of them) get `kind`:
        429 (with `Retry-After` if given), 500, a hang of `hang_seconds` before a normal answer, or a 200
        whose body is not JSON."""
        retry = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.append(Fault(kind, times, path, after, retry, hang_seconds))

    def log_for(self, fragment: str) -> list[LoggedRequest]:
        """Logged requests whose path contains `fragment`, oldest first."""
        with self._lock:
            return [entry for entry in self.requests if fragment in entry.path]

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.remaining <= 0 or (fault.path is not None and fault.path not in path):
                continue
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.remaining -= 1
            return fault
        return None

    # HTTP ------------------------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        entry = LoggedRequest(
            request.method,
            request.path,
            dict(request.args.items()),
            time.monotonic(),
            request.headers.get("Authorization", ""),
        )
        with self._lock:
            self.requests.append(entry)
            fault = self._take_fault(request.path)
        response = self._faulted(fault) or self._answer(request)
        entry.status = response.status_code
        return response(environ, start_response)

    def _faulted(self, fault: Fault | None) -> Response | None:
        if fault is None:
            return None
        if fault.kind == "hang":
            self._stopping.wait(fault.hang_seconds)
            return None
        if fault.kind == "malformed":
            return Response(
                "<html><body>Service temporarily unavailable", 200, content_type="application/json"
            )
        status = int(fault.kind)
        response = self._error(status, "Rate limit exceeded." if status == 429 else "Internal server error.")
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        return response

    def _answer(self, request: Request) -> Response:
        api = self.context + "/rest/api"
        if not request.path.startswith(api + "/"):
            return self._error(404, f"No resource found for {request.path}")
        if not self._authorized(request.headers.get("Authorization", "")):
            return self._error(401, "Client must be authenticated to access this resource.")
        if request.method != "GET":
            return self._error(405, f"Method {request.method} is not allowed here")
        route = request.path[len(api) :]
        with self._lock:
            return self._route(route, request)

    def _route(self, route: str, request: Request) -> Response:
        args = request.args
        if route == "/search":
            return self._search(args.get("cql", ""), args)
        if match := re.fullmatch(r"/content/(\d+)", route):
            return self._content_response(match.group(1), _expand_set(args.get("expand")))
        if match := re.fullmatch(r"/content/(\d+)/label", route):
            return self._labels(match.group(1))
        if route == "/space":
            return self._json(self._space_list())
        if match := re.fullmatch(r"/space/([^/]+)", route):
            key = match.group(1)
            if key not in self.spaces:
                return self._error(404, f"No space found with key : {key}")
            return self._json(self._space(key))
        if route == "/user":
            return self._user_response(args)
        return self._error(404, f"No resource found for {request.path}")

    def _authorized(self, header: str) -> bool:
        if self.user is None:
            return header == f"Bearer {self.token}"
        expected = base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        return header == f"Basic {expected}"

    @staticmethod
    def _json(payload: Json | list[Any], status: int = 200) -> Response:
        return Response(json.dumps(payload), status, content_type="application/json")

    def _error(self, status: int, message: str) -> Response:
        """Confluence's v1 error body."""
        data = {
            "authorized": status not in (401, 403),
            "valid": True,
            "allowedInReadOnlyMode": True,
            "errors": [],
            "successful": False,
        }
        body = {"statusCode": status, "data": data, "message": message, "reason": HTTP_STATUS_CODES[status]}
        return self._json(body, status)

    # payloads built from the fixtures ---------------------------------------------------------------------
    def _user(self, account_id: str) -> Json:
        person = self.users[account_id]
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

    def _space(self, key: str) -> Json:
        space: Json = copy.deepcopy(self._page_tpl["space"])
        space.update(key=key, alias=key, name=self.spaces[key], id=zlib.crc32(key.encode()) % 10**8)
        for name, link in space["_expandable"].items():
            if link:
                space["_expandable"][name] = link.replace("PROJ", key)
        space["_links"] = {"webui": f"/spaces/{key}", "self": f"{self.url}/rest/api/space/{key}"}
        return space

    def _space_list(self) -> Json:
        envelope = copy.deepcopy(self._spaces_tpl)
        envelope["results"] = [self._space(key) for key in sorted(self.spaces)]
        envelope.update(start=0, limit=25, size=len(self.spaces))
        envelope["_links"] = {"base": self.url, "context": self.context, "self": f"{self.url}/rest/api/space"}
        return envelope

    def _webui(self, page: StandinPage) -> str:
        return (
            f"/spaces/{page.space_key}/pages/{page.page_id}/{quote(page.title.replace(' ', '+'), safe='+')}"
        )

    def _ancestors(self, page: StandinPage) -> list[StandinPage]:
        chain: list[StandinPage] = []
        parent = page.parent_id
        while parent is not None and parent in self.pages:
            chain.insert(0, self.pages[parent])
            parent = self.pages[parent].parent_id
        return chain

    def _content(self, page: StandinPage, expand: set[str]) -> Json:
        content = copy.deepcopy(self._page_tpl)
        content.update(id=page.page_id, title=page.title, extensions={"position": int(page.page_id)})
        content["_links"].update(
            webui=self._webui(page),
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
            "space": lambda: self._space(page.space_key),
            "version": lambda: self._version(page),
            "history": lambda: self._history(page),
            "body": lambda: self._body(page, expand),
            "ancestors": lambda: [self._content(a, set()) for a in self._ancestors(page)],
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

    def _version(self, page: StandinPage) -> Json:
        version: Json = copy.deepcopy(self._page_tpl["version"])
        version.update(
            by=self._user(page.modifier),
            when=iso(page.modified),
            number=page.version,
            friendlyWhen=page.modified.strftime("%b %d, %Y"),
            confRev=f"confluence$content${page.page_id}.{page.version}",
        )
        version["_expandable"]["content"] = f"/rest/api/content/{page.page_id}"
        version["_links"]["self"] = f"{self.url}/rest/api/content/{page.page_id}/version/{page.version}"
        return version

    def _history(self, page: StandinPage) -> Json:
        return {
            "latest": True,
            "createdBy": self._user(page.author),
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

    def _label_results(self, page: StandinPage) -> list[Json]:
        return [
            {"prefix": "global", "name": name, "id": str(9000 + i), "label": name}
            for i, name in enumerate(page.labels)
        ]

    def _metadata(self, page: StandinPage, expand: set[str]) -> Json:
        metadata: Json = {
            "_expandable": {
                "currentuser": "",
                "comments": "",
                "simple": "",
                "properties": "",
                "frontend": "",
                "likes": "",
            }
        }
        if _wants(expand, "metadata.labels"):
            labels = self._label_results(page)
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
        subjects: Json = {}
        entries = {
            "user": [self._user(u) for u in page.read_users if u in self.users],
            "group": [{"type": "group", "name": g, "id": f"group-{g}"} for g in page.read_groups],
        }
        for kind, results in entries.items():
            if _wants(expand, f"restrictions.read.restrictions.{kind}"):
                subjects[kind] = {"results": results, "start": 0, "limit": 200, "size": len(results)}
        subjects["_expandable"] = {k: "" for k in entries if k not in subjects}
        read = {
            "operation": "read",
            "restrictions": subjects,
            "_expandable": {"content": ""},
            "_links": {"self": f"{self.url}{link}/read"},
        }
        return {"read": read, "_expandable": {"update": link + "/update"}, "_links": {"base": self.url}}

    def _content_response(self, page_id: str, expand: set[str]) -> Response:
        if page_id not in self.pages:
            return self._error(404, f"No content found with id: ContentId{{id={page_id}}}")
        return self._json(self._content(self.pages[page_id], expand))

    def _labels(self, page_id: str) -> Response:
        if page_id not in self.pages:
            return self._error(404, f"No content found with id: ContentId{{id={page_id}}}")
        envelope = copy.deepcopy(self._labels_tpl)
        envelope["results"] = self._label_results(self.pages[page_id])
        envelope["size"] = len(envelope["results"])
        envelope["_links"] = {
            "self": f"{self.url}/rest/api/content/{page_id}/label",
            "base": self.url,
            "context": self.context,
        }
        return self._json(envelope)

    def _user_response(self, args: Any) -> Response:
        for param, attribute in (("accountId", "account_id"), ("key", "user_key"), ("username", "username")):
            wanted = args.get(param)
            if wanted is None:
                continue
            for person in self.users.values():
                if getattr(person, attribute) == wanted:
                    return self._json(self._user(person.account_id))
            return self._error(404, f"No user found with {param}: {wanted}")
        return self._error(400, "One of accountId, key or username is required")

    def _search(self, cql: str, args: Any) -> Response:
        try:
            query = _Cql.parse(cql)
        except ValueError as exc:
            return self._error(400, str(exc))
        matches = sorted(
            (
                p
                for p in self.pages.values()
                if (query.space is None or p.space_key == query.space)
                and query.type in (None, "page")
                and (query.since is None or p.modified >= query.since)
            ),
            key=lambda p: (p.modified, int(p.page_id)),
            reverse=query.descending,
        )
        cursor = args.get("cursor")
        start = int(base64.urlsafe_b64decode(cursor).decode()) if cursor else int(args.get("start", 0))
        limit = min(int(args.get("limit", 25)), self.max_limit)
        window = matches[start : start + limit]
        expand = _expand_set(args.get("expand"), prefix="content.")
        envelope = copy.deepcopy(self._search_tpl)
        template = envelope["results"][0]
        envelope["results"] = [self._result(template, page, expand) for page in window]
        envelope.update(start=start, limit=limit, size=len(window), cqlQuery=cql, searchDuration=12)
        if self.total_size:
            envelope["totalSize"] = len(matches)
        else:
            envelope.pop("totalSize", None)
        links: Json = {
            "base": self.url,
            "context": self.context,
            "self": f"{self.url}/rest/api/search?{urlencode({'cql': cql})}",
        }
        if self.next_links and start + len(window) < len(matches):
            following = base64.urlsafe_b64encode(str(start + len(window)).encode()).decode()
            params = {
                "next": "true",
                "cursor": following,
                "limit": limit,
                "start": start + len(window),
                "cql": cql,
            }
            if args.get("expand") and self.next_link_expand:
                params["expand"] = args["expand"]
            links["next"] = "/rest/api/search?" + urlencode(params)
        envelope["_links"] = links
        return self._json(envelope)

    def _result(self, template: Json, page: StandinPage, expand: set[str]) -> Json:
        result = copy.deepcopy(template)
        text = re.sub(r"<[^>]+>", " ", page.body)
        content = self._content(page, expand)
        # Search results carry only these links on each content; `base` and `context` sit on the envelope.
        content["_links"] = {key: content["_links"][key] for key in template["content"]["_links"]}
        result.update(
            content=content,
            title=page.title,
            excerpt=" ".join(text.split())[:120],
            url=self._webui(page),
            lastModified=iso(page.modified),
            friendlyLastModified=page.modified.strftime("%b %d, %Y"),
            resultGlobalContainer={
                "title": self.spaces.get(page.space_key, page.space_key),
                "displayUrl": f"/spaces/{page.space_key}",
            },
        )
        return result
