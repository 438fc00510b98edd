"""An HTTP stand-in for Confluence's v1 REST API, for tests of code that talks to Confluence over the wire.

Confluence cannot run here, so this serves the few real paths the product uses (reading spaces, pages,
users and search; creating, updating and labelling pages), at Cloud's layout
(`/wiki/rest/api/...`; `context_path=""` gives Data Center's), and nothing else: an unknown path gets
Confluence's 404 error body, so a client calling a path Confluence lacks fails here too. The content lives
in `confluence_content` (which this class extends, so tests edit it through the stand-in) and is rendered by
`confluence_payloads` from real payloads; this module is the HTTP layer: routing, auth, paging, and faults
(400, 403, 429 with Retry-After, 500, a hang past the client's timeout, a malformed body) that can be
queued. Every request is logged with its arrival time.

    with ConfluenceStandin() as confluence:
        confluence.add_space("ENG")
        page_id = confluence.add_page("ENG", "Runbook", "<p>Restart it.</p>")
        confluence.fail("429", retry_after=1)
        ...  # point the client at confluence.url with confluence.user / confluence.token
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Self, TypeGuard

from lxml import etree
from werkzeug.datastructures import MultiDict
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.support.confluence_content import ConfluenceContent, Cql, StandinPage, StandinUser
from tests.support.confluence_payloads import Json, Payloads, error_body, expand_set, iso

__all__ = ["ConfluenceStandin", "FaultKind", "LoggedRequest", "StandinPage", "StandinUser", "iso"]

FaultKind = Literal["400", "403", "429", "500", "hang", "malformed"]

_FAULT_MESSAGES = {
    400: "Bad request.",
    403: "User does not have permission to perform this action.",
    429: "Rate limit exceeded.",
    500: "Internal server error.",
}


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


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests read the request log instead of stderr."""


class ConfluenceStandin(ConfluenceContent):
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
        honour_start: bool = True,
    ) -> None:
        """`user=None` expects a bearer PAT (Data Center); otherwise basic auth with `user:token` (Cloud).
        `next_links` adds Cloud's `_links.next` (`next_link_expand=False` leaves `expand` out of it);
        `total_size=False` leaves out `totalSize`; `max_limit` caps `limit` like Confluence does;
        `honour_start=False` makes search ignore `start` and always answer from 0, as a broken proxy might."""
        super().__init__()
        self.user, self.token, self.context = user, token, context_path.rstrip("/")
        self.next_links, self.next_link_expand = next_links, next_link_expand
        self.total_size, self.max_limit, self.honour_start = total_size, max_limit, honour_start
        self.requests: list[LoggedRequest] = []
        self._faults: list[Fault] = []
        self._hooks: list[tuple[str, Callable[[], None]]] = []
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._payloads: Payloads | None = None

    # lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> Self:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._payloads = Payloads(self, url=self.url, context=self.context)
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
        that status with Confluence's error body (a 429 with `Retry-After` if given), a hang of
        `hang_seconds` before a normal answer, or a 200 whose body is not JSON."""
        retry = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.append(Fault(kind, times, path, after, retry, hang_seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def before_next(self, path: str, action: Callable[[], None]) -> None:
        """Run `action` once, when the next request whose path contains `path` arrives and before it is
        answered: a way to make something happen at a known point of a sync (kill Chroma mid-run)."""
        with self._lock:
            self._hooks.append((path, action))

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
        response = _error(status, _FAULT_MESSAGES[status])
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        return response

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
            due = [hook for hook in self._hooks if hook[0] in request.path][:1]
            self._hooks = [hook for hook in self._hooks if hook not in due]
        for _, action in due:
            action()
        response = self._faulted(fault) or self._answer(request)
        entry.status = response.status_code
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        api = self.context + "/rest/api"
        if not request.path.startswith(api + "/"):
            return _error(404, f"No resource found for {request.path}")
        header = request.headers.get("Authorization", "")
        if not self._authorized(header) and self._personal_account(header) is None:
            return _error(401, "Client must be authenticated to access this resource.")
        route = request.path[len(api) :]
        personal = self._personal_account(request.headers.get("Authorization", ""))
        if route == "/user/current" and request.method == "GET":
            assert self._payloads is not None, "start() the stand-in first"
            account = personal or "standin-admin"
            return _json(self._payloads.user(account))
        if personal is not None:
            return _error(403, "This stand-in serves personal access tokens only user/current.")
        with self._lock:
            if request.method == "GET":
                return self._route(route, request)
            return self._write(request.method, route, request)

    def _personal_account(self, header: str) -> str | None:
        """A Data Center personal access token someone made for themselves (`personal_tokens`)."""
        scheme, _, token = header.partition(" ")
        return self.personal_tokens.get(token) if scheme == "Bearer" else None

    def _authorized(self, header: str) -> bool:
        if self.user is None:
            return header == f"Bearer {self.token}"
        expected = base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        return header == f"Basic {expected}"

    def _route(self, route: str, request: Request) -> Response:
        assert self._payloads is not None, "start() the stand-in first"
        payloads, args = self._payloads, request.args
        if route == "/search":
            return self._search(payloads, args)
        if match := re.fullmatch(r"/content/(\d+)/restriction/byOperation/read", route):
            page = self.pages.get(match.group(1))
            if page is None:
                return _error(404, f"No content found with id: ContentId{{id={match.group(1)}}}")
            start, limit = int(args.get("start", 0)), min(int(args.get("limit", 100)), self.max_limit)
            kinds = {k.split(".")[-1] for k in expand_set(args.get("expand"))} & {"user", "group"}
            return _json(payloads.restriction(page, start=start, limit=limit, kinds=kinds))
        if route == "/user/memberof":
            account_id = args.get("accountId") or args.get("key")
            if account_id not in self.users:
                return _error(404, f"No user found with accountId: {account_id}")
            start, limit = int(args.get("start", 0)), min(int(args.get("limit", 200)), self.max_limit)
            return _json(payloads.memberof(account_id, start=start, limit=limit))
        if route == "/search/user":
            if args.get("cql", "").replace(" ", "") != "type=user":
                return _error(400, "Only cql=type=user is supported by this stand-in")
            start, limit = int(args.get("start", 0)), min(int(args.get("limit", 25)), self.max_limit)
            return _json(payloads.user_search(start=start, limit=limit))
        if match := re.fullmatch(r"/content/(\d+)(/label|/history)?", route):
            page = self.pages.get(match.group(1))
            if page is None:
                return _error(404, f"No content found with id: ContentId{{id={match.group(1)}}}")
            if match.group(2) == "/label":
                return _json(payloads.labels(page))
            if match.group(2) == "/history":
                return _json(payloads.history(page))
            return _json(payloads.page(page, expand_set(args.get("expand"))))
        if route == "/space":
            return _json(payloads.space_list())
        if match := re.fullmatch(r"/space/([^/]+)", route):
            key = match.group(1)
            if key not in self.spaces:
                return _error(404, f"No space found with key : {key}")
            space = payloads.space(key)
            if "permissions" in expand_set(args.get("expand")):
                space["permissions"] = payloads.space_permissions(key)
            return _json(space)
        if route == "/user":
            return self._user(payloads, args)
        return _error(404, f"No resource found for {request.path}")

    # writing pages ---------------------------------------------------------------------------------------
    def _write(self, method: str, route: str, request: Request) -> Response:
        """Creating a page (`POST content/`), a new version of one (`PUT content/{id}`) and labelling it
        (`POST content/{id}/label`), with Confluence's checks: the space exists, a title is unique in its
        space, the body is well-formed storage XHTML, an update carries the next version number."""
        assert self._payloads is not None, "start() the stand-in first"
        try:
            sent = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return _error(400, "Unexpected character in the request body: it is not JSON")
        if not isinstance(sent, dict | list):
            return _error(400, "The request body must be a JSON object")
        if method == "POST" and route in ("/content", "/content/"):
            return self._create(sent)
        if method == "PUT" and (match := re.fullmatch(r"/content/(\d+)", route)):
            return self._update(match.group(1), sent)
        if method == "POST" and (match := re.fullmatch(r"/content/(\d+)/label", route)):
            return self._label(match.group(1), sent)
        return _error(405, f"Method {method} is not allowed on {route}")

    def _create(self, sent: Any) -> Response:
        assert self._payloads is not None
        space, title = (sent.get("space") or {}).get("key"), sent.get("title")
        body = ((sent.get("body") or {}).get("storage") or {}).get("value")
        if not isinstance(title, str) or not title.strip() or not isinstance(body, str):
            return _error(400, "A page needs a title and a body in storage representation")
        if space not in self.spaces:
            return _error(404, f"No space with key : {space}")
        if any(p.space_key == space and p.title == title for p in self.pages.values()):
            return _error(
                400,
                f"A page with this title already exists: A page already exists with the title {title} "
                f"in the space with key {space}",
            )
        if problem := _storage_problem(body):
            return _error(400, f"Error parsing xhtml: {problem}")
        ancestors = sent.get("ancestors") or []
        parent = str(ancestors[-1]["id"]) if ancestors else None
        if parent is not None and parent not in self.pages:
            return _error(404, f"No parent page with id {parent}")
        labels = [label.get("name") for label in (sent.get("metadata") or {}).get("labels") or []]
        if bad := [name for name in labels if not _is_label(name)]:
            return _error(400, f"Label name is invalid: {bad[0]!r}")
        page_id = str(next(self._ids))
        now = datetime.now(UTC)
        self.pages[page_id] = StandinPage(
            page_id, space, title, body, _API_AUTHOR, now, now, _API_AUTHOR, labels=labels, parent_id=parent
        )
        return _json(self._payloads.page(self.pages[page_id], _WRITTEN_EXPAND))

    def _update(self, page_id: str, sent: Any) -> Response:
        assert self._payloads is not None
        page = self.pages.get(page_id)
        if page is None:
            return _error(404, f"No content found with id: ContentId{{id={page_id}}}")
        number = (sent.get("version") or {}).get("number")
        if number != page.version + 1:
            return _error(409, f"Version must be incremented on update. Current version is: {page.version}")
        body = ((sent.get("body") or {}).get("storage") or {}).get("value", page.body)
        if problem := _storage_problem(body):
            return _error(400, f"Error parsing xhtml: {problem}")
        page.title = sent.get("title") or page.title
        page.body, page.version = body, number
        page.modified, page.modifier = datetime.now(UTC), _API_AUTHOR
        return _json(self._payloads.page(page, _WRITTEN_EXPAND))

    def _label(self, page_id: str, sent: Any) -> Response:
        assert self._payloads is not None
        page = self.pages.get(page_id)
        if page is None:
            return _error(404, f"No content found with id: ContentId{{id={page_id}}}")
        for label in sent if isinstance(sent, list) else [sent]:
            name = label.get("name") if isinstance(label, dict) else None
            if not _is_label(name):
                return _error(400, f"Label name is invalid: {name!r}")
            if name not in page.labels:
                page.labels.append(name)
        return _json(self._payloads.labels(page))

    def writes(self) -> list[LoggedRequest]:
        """The requests that created or updated a page (labelling not counted), oldest first."""
        with self._lock:
            return [
                entry
                for entry in self.requests
                if (entry.method, entry.status) in (("POST", 200), ("PUT", 200))
                and not entry.path.endswith("/label")
            ]

    def _user(self, payloads: Payloads, args: MultiDict[str, str]) -> Response:
        for param, attribute in (("accountId", "account_id"), ("key", "user_key"), ("username", "username")):
            wanted = args.get(param)
            if wanted is None:
                continue
            for person in self.users.values():
                if getattr(person, attribute) == wanted:
                    return _json(payloads.user(person.account_id))
            return _error(404, f"No user found with {param}: {wanted}")
        return _error(400, "One of accountId, key or username is required")

    def _search(self, payloads: Payloads, args: MultiDict[str, str]) -> Response:
        """Offset paging by `start`, and Cloud's cursor paging through `_links.next`."""
        cql = args.get("cql", "")
        try:
            matches = self.matching(Cql.parse(cql))
        except ValueError as exc:
            return _error(400, str(exc))
        cursor = args.get("cursor")
        if cursor:
            start = int(base64.urlsafe_b64decode(cursor).decode())
        else:
            start = int(args.get("start", 0)) if self.honour_start else 0
        limit = min(int(args.get("limit", 25)), self.max_limit)
        window = matches[start : start + limit]
        following = start + len(window)
        next_params: dict[str, str | int] | None = None
        if self.next_links and following < len(matches):
            next_params = {
                "next": "true",
                "cursor": base64.urlsafe_b64encode(str(following).encode()).decode(),
                "limit": limit,
                "start": following,
                "cql": cql,
            }
            if args.get("expand") and self.next_link_expand:
                next_params["expand"] = args["expand"]
        envelope = payloads.search(
            cql,
            window,
            start=start,
            limit=limit,
            expand=expand_set(args.get("expand"), prefix="content."),
            total=len(matches) if self.total_size else None,
            next_params=next_params,
        )
        return _json(envelope)


_API_AUTHOR = "standin-admin"
"""Who pages written through the API are by: the stand-in's one account."""

_WRITTEN_EXPAND = {"space", "version", "history", "body", "body.storage", "ancestors"}
"""What Confluence expands in its answer to a create or an update."""


def _is_label(name: object) -> TypeGuard[str]:
    """Confluence's label rule: no spaces and none of `:;,.!&()[]{}<>\\/*?#`, at most 255 characters."""
    return isinstance(name, str) and re.fullmatch(r"[^\s:;,.!&()\[\]{}<>\\/*?#]{1,255}", name) is not None


def _storage_problem(body: str) -> str | None:
    """Why `body` is not well-formed storage XHTML (namespaced `ac:`/`ri:` elements allowed), or None."""
    wrapped = (
        '<root xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource">'
        f"{body}</root>"
    )
    try:
        etree.fromstring(wrapped.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return str(exc)
    return None


def _json(payload: Json, status: int = 200) -> Response:
    return Response(json.dumps(payload), status, content_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json(error_body(status, message), status)
