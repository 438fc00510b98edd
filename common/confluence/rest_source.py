"""Pages from Confluence's v1 REST API, for Confluence Cloud (`…/wiki`) and Data Center alike.

We drive atlassian-python-api's `Confluence(url, cloud=False)`: its `cloud=True` client speaks API v2, whose
`cql()` requests a path Confluence does not have. Cloud still serves v1 under `/wiki/rest/api/…`, so one
client serves both. Retrying lives in the session (`rest_session`), payload rules in `rest_mapping`; this
module issues the calls, follows pagination and turns every failure into `SourceError`/`SourceUnavailable`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from atlassian import Confluence
from atlassian.errors import ApiError
from urllib3.exceptions import MaxRetryError

from common.confluence.models import PageRef, Person, SourcePage
from common.confluence.rest_mapping import (
    Restriction,
    display_name,
    group_names,
    page_from_content,
    page_id_of,
    page_restriction,
    people_of,
    ref_from_content,
    restriction_of,
    restriction_subjects,
    space_rule,
)
from common.confluence.rest_session import RetryPolicy, build_session
from common.errors import SourceError, SourceNotFound, SourceUnavailable
from common.logs import get_logger
from common.store.access import ReadRule
from common.store.chunk import Classification, SourceKind

T = TypeVar("T")

log = get_logger(__name__)

MAX_SEARCH_PAGES = 10_000
"""Most pages of results one search may take (500,000 pages of content at the default limit of 50): past
that, a server is handing out `_links.next` forever, and we fail the listing instead of spinning."""

PAGE_EXPAND = (
    "body.storage",
    "version",
    "history",
    "space",
    "ancestors",
    "metadata.labels",
    "restrictions.read.restrictions.user",
    "restrictions.read.restrictions.group",
)
"""Everything `rest_mapping.page_from_content` reads, in one request per page."""

REF_EXPAND = (
    "version",
    "ancestors",
    "restrictions.read.restrictions.user",
    "restrictions.read.restrictions.group",
)
"""Enough for a complete listing (deletions, moves, restrictions) without downloading bodies."""

CREDENTIALS_HINT = (
    "check CONFLUENCE_USER and CONFLUENCE_API_TOKEN (Cloud: account email + API token; Data Center: a "
    "personal access token with CONFLUENCE_USER unset) and that the account may view the configured spaces"
)


def _cql_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def pages_where(space_key: str, since: datetime | None) -> str:
    """CQL selecting a space's pages changed at or after `since`. CQL takes minutes, not seconds, in
    `yyyy/MM/dd HH:mm`; we send UTC (aware values are converted, naive ones taken as UTC) and rely on the
    sync overlap."""
    clauses = [f"space = {_cql_string(space_key)}", "type = page"]
    if since is not None:
        moment = since.astimezone(UTC) if since.tzinfo else since
        clauses.append(f'lastmodified >= "{moment:%Y/%m/%d %H:%M}"')
    return " AND ".join(clauses)


def pages_cql(space_key: str, since: datetime | None) -> str:
    """`pages_where`, oldest change first."""
    return pages_where(space_key, since) + " ORDER BY lastmodified ASC"


def _content_expand(items: Sequence[str]) -> str:
    return ",".join(f"content.{item}" for item in items)


def _new_page(
    space_key: str, title: str, body: str, parent_id: str, labels: Sequence[str], comment: str
) -> dict[str, Any]:
    """The create-content body atlassian-python-api's `create_page` sends, plus the labels Confluence
    accepts on creation (`metadata.labels`), which that method has no parameter for."""
    page: dict[str, Any] = {
        "type": "page",
        "title": title,
        "status": "current",
        "space": {"key": space_key},
        "body": {"storage": {"value": body, "representation": "storage"}},
        "metadata": {"labels": [{"prefix": "global", "name": name} for name in labels]},
        "version": {"message": comment},
    }
    if parent_id:
        page["ancestors"] = [{"type": "page", "id": parent_id}]
    return page


def _links(envelope: Mapping[str, Any]) -> Mapping[str, Any]:
    links = envelope.get("_links")
    return links if isinstance(links, Mapping) else {}


def _next_start(envelope: Mapping[str, Any], start: int, size: int, requested: int) -> int | None:
    """The next `start` for offset paging, or None when this page was the last: empty, reaching `totalSize`,
    or shorter than the page size the server says it used (it may cap our `limit`)."""
    if size == 0:
        return None
    start = envelope["start"] if isinstance(envelope.get("start"), int) else start
    total = envelope.get("totalSize")
    if isinstance(total, int):
        return start + size if start + size < total else None
    limit = envelope.get("limit")
    page_size = limit if isinstance(limit, int) and limit > 0 else requested
    return start + size if size >= page_size else None


class RestPageSource:
    """A `PageSource` reading Confluence over REST. Not thread-safe: one instance per sync."""

    kind: SourceKind = "confluence"
    default_classification: Classification | None = None
    """Confluence has no space-level classification; DEFAULT_CLASSIFICATION applies."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        user: str | None = None,
        spaces: Sequence[str],
        timeout_seconds: float,
        max_retries: int,
        max_retry_after_seconds: float,
        page_limit: int,
        backoff_factor: float = 1.0,
        backoff_jitter_seconds: float = 1.0,
        cloud: bool | None = None,
        max_search_pages: int = MAX_SEARCH_PAGES,
        everyone_groups: Sequence[str] = ("confluence-users",),
    ) -> None:
        """`cloud` decides how `user_name` looks people up (accountId vs user key/username); by default an
        email + API token (basic auth) means Cloud and a bare token (PAT) means Data Center.
        `max_search_pages` bounds how many pages of results one search may follow. `everyone_groups`: groups
        every member of the site belongs to, so a space they may view is open to all."""
        user = user or None
        self._url = url.rstrip("/")
        self._spaces = list(spaces)
        self._page_limit = page_limit
        self._max_search_pages = max_search_pages
        self._cloud = user is not None if cloud is None else cloud
        self._policy = RetryPolicy(
            max_retries=max_retries,
            timeout_seconds=timeout_seconds,
            max_retry_after_seconds=max_retry_after_seconds,
            backoff_factor=backoff_factor,
            backoff_jitter_seconds=backoff_jitter_seconds,
        )
        self._names: dict[str, str | None] = {}
        self._everyone_groups = frozenset(everyone_groups)
        auth: dict[str, str] = {"username": user, "password": token} if user else {"token": token}
        # atlassian-python-api ships py.typed but leaves this constructor unannotated.
        self._client: Any = Confluence(  # type: ignore[no-untyped-call]
            url=self._url,
            cloud=False,
            timeout=max(1, math.ceil(timeout_seconds)),  # the library keeps int(); the session's is exact
            session=build_session(self._policy),
            backoff_and_retry=False,
            retry_with_header=False,  # its own loop would sleep up to 30 min on a 429
            **auth,
        )

    def close(self) -> None:
        self._client.close()

    def space_keys(self) -> list[str]:
        return list(self._spaces)

    def changed_pages(self, space_key: str, since: datetime | None) -> Iterator[SourcePage]:
        self._check_space(space_key)
        for content, base in self._search(pages_cql(space_key, since), _content_expand(PAGE_EXPAND)):
            page = page_from_content(content, base_url=base)
            yield replace(page, read_rule=self._read_rule(content, page.page_id))

    def count_changed_pages(self, space_key: str, since: datetime | None) -> int:
        """The search's `totalSize`, from one request for a single result with nothing expanded: Confluence
        counts the matches (those the account may view) without anyone listing them. One result rather than
        `limit=0`, which Cloud and Data Center are not documented to answer alike; no ORDER BY, which a
        count does not need."""
        cql = pages_where(space_key, since)
        envelope = self._json(
            lambda: self._client.cql(cql, start=0, limit=1),
            doing=f"counting {cql!r}",
            not_found=f"Confluence has no search endpoint under {self._url}: check CONFLUENCE_URL",
        )
        total = envelope.get("totalSize")
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise SourceError(
                f"Confluence answered the search {cql!r} without a usable totalSize ({total!r}), so the "
                "pages to sync cannot be counted up front."
            )
        return total

    def list_pages(self, space_key: str) -> list[PageRef]:
        """Collected in full before returning: any failed page of results raises, never a partial list."""
        self._check_space(space_key)
        results = self._search(pages_cql(space_key, None), _content_expand(REF_EXPAND))
        refs = []
        for content, _ in results:
            ref = ref_from_content(content, space_key=space_key)
            refs.append(replace(ref, read_rule=self._read_rule(content, ref.page_id)))
        return refs

    def get_page(self, page_id: str) -> SourcePage:
        content = self._json(
            lambda: self._client.get_page_by_id(page_id, expand=",".join(PAGE_EXPAND)),
            doing=f"fetching page {page_id}",
            not_found=f"Confluence page {page_id} does not exist or the account cannot view it",
        )
        page = page_from_content(content)
        return replace(page, read_rule=self._read_rule(content, page_id))

    def page_ref(self, page_id: str, *, space_key: str) -> PageRef:
        """One page of `space_key` as a listing holds it (version, ancestors, read restriction), no body."""
        content = self._json(
            lambda: self._client.get_page_by_id(page_id, expand=",".join(REF_EXPAND)),
            doing=f"reading page {page_id}",
            not_found=f"Confluence page {page_id} does not exist or the account cannot view it",
        )
        ref = ref_from_content(content, space_key=space_key)
        return replace(ref, read_rule=self._read_rule(content, page_id))

    # --- who may read ----------------------------------------------------------------------------------

    def space_read_rule(self, space_key: str) -> ReadRule | None:
        """The space's view (`read`) permission from `space/{key}?expand=permissions`: None when anonymous
        users or one of CONFLUENCE_EVERYONE_GROUPS may view it, else the users and groups that may."""
        self._check_space(space_key)
        space = self._json(
            lambda: self._client.get(f"rest/api/space/{space_key}", params={"expand": "permissions"}),
            doing=f"reading the permissions of space {space_key}",
            not_found=f"Confluence space {space_key!r} does not exist or the account cannot view it",
        )
        return space_rule(space, space_key, everyone_groups=self._everyone_groups)

    def groups_of(self, account_id: str) -> frozenset[str]:
        """Every group the user is in (`user/memberof`, paged; Data Center by user key). Raises
        `SourceError` rather than return part of the list: access decided on half a membership is wrong."""
        param = "accountId" if self._cloud else "key"
        names: list[str] = []
        for start in itertools.count(0, self._page_limit):
            envelope = self._json(
                partial(
                    self._client.get,
                    "rest/api/user/memberof",
                    params={param: account_id, "start": start, "limit": self._page_limit},
                ),
                doing=f"listing the groups of {account_id}",
                not_found=f"Confluence has no user {account_id!r}",
            )
            page = group_names(envelope, account_id)
            names.extend(page)
            if len(page) < self._page_limit or start // self._page_limit >= self._max_search_pages:
                return frozenset(names)
        raise AssertionError("unreachable")

    def people(self) -> list[Person]:
        """The site's users as the sync account sees them (emails only where their privacy settings show
        them): how a Slack user is matched to a Confluence account by email."""
        path = "rest/api/search/user" if self._cloud else "rest/api/search"
        people: list[Person] = []
        for start in itertools.count(0, self._page_limit):
            envelope = self._json(
                partial(
                    self._client.get,
                    path,
                    params={"cql": "type=user", "start": start, "limit": self._page_limit},
                ),
                doing="listing the site's users",
                not_found="Confluence cannot search users here",
            )
            page = people_of(envelope)
            people.extend(page)
            if (
                len(envelope["results"]) < self._page_limit
                or start // self._page_limit >= self._max_search_pages
            ):
                return people
        raise AssertionError("unreachable")

    def _read_rule(self, content: Mapping[str, Any], page_id: str) -> ReadRule | None:
        """The page's read restriction, read in full when the expanded one is a first page of many."""
        restriction = page_restriction(content, page_id)
        if restriction.complete:
            return restriction.rule
        users: list[str] = []
        groups: list[str] = []
        for start in itertools.count(0, self._page_limit):
            envelope = self._json(
                partial(
                    self._client.get,
                    f"rest/api/content/{page_id}/restriction/byOperation/read",
                    params={
                        "expand": "restrictions.user,restrictions.group",
                        "start": start,
                        "limit": self._page_limit,
                    },
                ),
                doing=f"reading the read restriction of page {page_id}",
                not_found=f"Confluence page {page_id} does not exist or the account cannot view it",
            )
            part = restriction_of(
                restriction_subjects(envelope, page_id),
                page_id,
                path="restriction/byOperation/read.restrictions",
            )
            users += part.users
            groups += part.groups
            if part.complete or start // self._page_limit >= self._max_search_pages:
                return Restriction(tuple(users), tuple(groups), complete=True).rule
        raise AssertionError("unreachable")

    # --- writing pages (documents published from Slack) ------------------------------------------------

    def find_labelled_page(self, space_key: str, label: str) -> str | None:
        """The id of the page of `space_key` carrying `label`, if any: how a publish that died after
        creating its page finds that page again instead of creating a second one."""
        cql = f"space = {_cql_string(space_key)} AND label = {_cql_string(label)}"
        for content, _ in self._search(cql, _content_expand(("version",))):
            return page_id_of(content)
        return None

    def write_page(
        self,
        *,
        space_key: str,
        title: str,
        body: str,
        parent_id: str,
        labels: Sequence[str],
        page_id: str | None,
        comment: str,
    ) -> str:
        """Create the page with its labels in one request (so no page exists without the label that finds
        it again), or update `page_id` (a new Confluence version) and add any label it lacks. Storage
        format. Returns the page's id."""
        if page_id is None:
            created = self._json(
                lambda: self._client.post(
                    "rest/api/content/", data=_new_page(space_key, title, body, parent_id, labels, comment)
                ),
                doing=f"creating page {title!r} in space {space_key}",
                not_found=f"Confluence space {space_key!r} or parent page {parent_id!r} does not exist",
            )
            return page_id_of(created)
        self._json(
            lambda: self._client.update_page(
                page_id, title, body, version_comment=comment, always_update=True
            ),
            doing=f"updating page {page_id}",
            not_found=f"Confluence page {page_id} does not exist or the account cannot view it",
        )
        self._json(
            lambda: self._client.post(
                f"rest/api/content/{page_id}/label", data=[{"prefix": "global", "name": n} for n in labels]
            ),
            doing=f"labelling page {page_id}",
            not_found=f"Confluence page {page_id} does not exist or the account cannot view it",
        )
        return page_id

    def user_name(self, ref: str) -> str | None:
        """Cached, including misses: pages mention the same people over and over."""
        if ref not in self._names:
            self._names[ref] = self._lookup_user(ref)
        return self._names[ref]

    def _lookup_user(self, ref: str) -> str | None:
        """Cloud knows people by accountId; Data Center mentions carry a user key or (older) a username.
        Any refusal (a 404, a 403 when the account may not browse users, a 400 for an id Cloud cannot parse)
        makes an unknown user rather than failing every page that mentions them; a refusal other than a 404
        is logged, once per ref as the answer is cached. Only `SourceUnavailable` propagates."""
        lookups: list[Callable[[str], Any]] = (
            [self._client.get_user_details_by_accountid]
            if self._cloud
            else [self._client.get_user_details_by_userkey, self._client.get_user_details_by_username]
        )
        refused: SourceError | None = None
        for lookup in lookups:
            try:
                user = self._json(partial(lookup, ref), doing=f"looking up user {ref!r}", not_found="")
            except SourceUnavailable:
                raise
            except SourceNotFound:
                continue
            except SourceError as exc:
                refused = exc
                continue
            return display_name(user)
        if refused is not None:
            log.warning("confluence_user_lookup_refused", user_ref=ref, cloud=self._cloud, error=str(refused))
        return None

    def _check_space(self, space_key: str) -> None:
        """CQL answers an unknown space with an empty result, indistinguishable from "nothing changed"."""
        self._json(
            lambda: self._client.get_space(space_key),
            doing=f"reading space {space_key}",
            not_found=(
                f"Confluence space {space_key!r} does not exist or the account cannot view it: "
                f"fix CONFLUENCE_SPACES or the account's space permissions"
            ),
        )

    def _search(self, cql: str, expand: str) -> Iterator[tuple[Mapping[str, Any], str | None]]:
        """Every result's content with the envelope's `_links.base`, across all pages of the search.
        Follows `_links.next` when given (Cloud's cursor paging), else pages by start/limit. Raises
        `SourceError` rather than page forever: on a next link seen before, an offset the server does not
        advance, or a search running past `max_search_pages` pages."""
        start = 0
        followed: set[str] = set()
        envelope = self._search_page(cql, expand, start)
        for fetched in itertools.count(1):
            results = envelope.get("results")
            if not isinstance(results, list):
                raise SourceError(f"Confluence answered the CQL search {cql!r} without a 'results' list.")
            base = _links(envelope).get("base")
            for item in results:
                content = item.get("content") if isinstance(item, Mapping) else None
                if not isinstance(content, Mapping):
                    raise SourceError(f"A result of the CQL search {cql!r} has no 'content' object.")
                yield content, base if isinstance(base, str) else None
            next_link = _links(envelope).get("next")
            by_link = isinstance(next_link, str) and bool(next_link)
            if by_link:
                url = self._resolve_next(envelope, str(next_link), cql, expand)
                if url in followed:
                    raise SourceError(f"Confluence's paging of {cql!r} loops back to {url}; cannot list it.")
                followed.add(url)
            else:
                next_start = self._advance(envelope, cql, start, len(results))
                if next_start is None:
                    return
                start = next_start
                url = self._search_url(cql, start)
            if fetched >= self._max_search_pages:
                raise SourceError(
                    f"Confluence's paging of {cql!r} did not end after {fetched:,} pages of results; stopped "
                    f"before {url} rather than page forever. Check that CONFLUENCE_URL reaches Confluence "
                    "directly, not through a proxy that rewrites its answers."
                )
            envelope = self._follow(url, cql) if by_link else self._search_page(cql, expand, start)

    def _advance(self, envelope: Mapping[str, Any], cql: str, start: int, size: int) -> int | None:
        """`_next_start`, insisting that it moves past `start`: a server that ignores `start` (answering
        from 0 again) but reports `totalSize` would otherwise hand out the same page forever."""
        next_start = _next_start(envelope, start, size, self._page_limit)
        if next_start is not None and next_start <= start:
            raise SourceError(
                f"Confluence at {self._search_url(cql, start)} answered start={envelope.get('start')!r} "
                f"with {size} results when asked for start={start}: it ignores `start`, so paging would "
                "repeat the same results forever. Check that CONFLUENCE_URL reaches Confluence directly, "
                "not through a proxy that drops query parameters."
            )
        return next_start

    def _search_url(self, cql: str, start: int) -> str:
        """The offset search request as an operator would paste it (without the long `expand`)."""
        query = urlencode({"cql": cql, "start": start, "limit": self._page_limit})
        return f"{self._url}/rest/api/search?{query}"

    def _search_page(self, cql: str, expand: str, start: int) -> Mapping[str, Any]:
        return self._json(
            lambda: self._client.cql(cql, start=start, limit=self._page_limit, expand=expand),
            doing=f"searching {cql!r} (start {start})",
            not_found=f"Confluence has no search endpoint under {self._url}: check CONFLUENCE_URL",
        )

    def _follow(self, url: str, cql: str) -> Mapping[str, Any]:
        return self._json(
            lambda: self._client.get(url, absolute=True),
            doing=f"following the next page of {cql!r}",
            not_found=f"Confluence's next-page link {url} led nowhere; the search {cql!r} must restart",
        )

    def _resolve_next(self, envelope: Mapping[str, Any], link: str, cql: str, expand: str) -> str:
        """Make a `_links.next` absolute. It is relative to the context path (`/wiki` on Cloud), not the
        host, so `/rest/api/search?…` means `https://host/wiki/rest/api/search?…`; the library's own pager
        drops the `/wiki`. The host is always CONFLUENCE_URL's, so credentials never go elsewhere, and the
        search's own parameters are added back should the link leave any out."""
        ours = urlsplit(self._url)
        parts = urlsplit(link)
        path = parts.path
        if not parts.scheme:
            context = _links(envelope).get("context")
            prefix = (context if isinstance(context, str) else ours.path).rstrip("/")
            if prefix and not path.startswith(prefix + "/"):
                path = prefix + "/" + path.lstrip("/")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        for key, value in (("cql", cql), ("expand", expand), ("limit", str(self._page_limit))):
            query.setdefault(key, value)
        return urlunsplit((ours.scheme, ours.netloc, path, urlencode(query, safe=","), ""))

    def _json(self, call: Callable[[], object], *, doing: str, not_found: str) -> Mapping[str, Any]:
        """Run one client call, insist on a JSON object back, and translate every failure."""
        body = self._guard(call, doing=doing, not_found=not_found)
        if not isinstance(body, Mapping):
            shown = repr(body)[:120]
            raise SourceError(f"Confluence answered {doing} with a body that is not a JSON object: {shown}")
        return body

    def _guard(self, call: Callable[[], T], *, doing: str, not_found: str) -> T:
        try:
            return call()
        except ApiError as exc:  # the library wraps some HTTP errors (404 on pages/spaces/users)
            if isinstance(exc.reason, requests.HTTPError):
                raise self._from_http(exc.reason, doing=doing, not_found=not_found) from exc
            raise SourceError(f"Confluence client failed while {doing}: {exc}") from exc
        except requests.HTTPError as exc:
            raise self._from_http(exc, doing=doing, not_found=not_found) from exc
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise SourceUnavailable(
                f"Cannot reach Confluence at {self._url} while {doing}: {_transport_reason(exc)}. Tried "
                f"{self._policy.describe()}. Check CONFLUENCE_URL and the network, or try again later."
            ) from exc
        except requests.RequestException as exc:
            raise SourceError(f"Request to Confluence at {self._url} failed while {doing}: {exc}") from exc

    def _from_http(self, exc: requests.HTTPError, *, doing: str, not_found: str) -> SourceError:
        response = exc.response
        status = response.status_code if response is not None else 0
        url = response.url if response is not None else self._url
        detail = str(exc).splitlines()[0] if str(exc) else f"HTTP {status}"
        if status in (401, 403):
            return SourceError(f"Confluence refused {doing} with {status} ({detail}): {CREDENTIALS_HINT}.")
        if status == 404:
            return SourceNotFound(f"{not_found} (404 from {url}).")
        if status == 429 or status >= 500:
            return SourceUnavailable(self._exhausted_message(response, status, url, doing))
        return SourceError(f"Confluence answered {status} to {doing} ({url}): {detail}")

    def _exhausted_message(
        self, response: requests.Response | None, status: int, url: str, doing: str
    ) -> str:
        retry_after = response.headers.get("Retry-After") if response is not None else None
        cap = self._policy.max_retry_after_seconds
        if retry_after and retry_after.strip().isdigit() and int(retry_after) > cap:
            return (
                f"Confluence at {url} answered {status} while {doing} and asked to wait {retry_after} s "
                f"(Retry-After), more than CONFLUENCE_MAX_RETRY_AFTER_SECONDS={cap:g}; not waiting. The next "
                "sync will try again; raise that setting to wait longer."
            )
        return (
            f"Confluence at {url} kept answering {status} while {doing}. Tried {self._policy.describe()}. "
            "Try again later, or raise CONFLUENCE_MAX_RETRIES."
        )


def _transport_reason(exc: requests.RequestException) -> str:
    """The innermost cause urllib3 gave up on (e.g. a read timeout), not requests' wrapper text."""
    first = exc.args[0] if exc.args else None
    if isinstance(first, MaxRetryError) and first.reason is not None:
        return f"{type(first.reason).__name__}: {first.reason}"
    return f"{type(exc).__name__}: {exc}"
