"""Every HTTP endpoint answers garbage with a 4xx, never a 5xx: property-based, against the real processes.

A 5xx says "our fault, try again": Slack then retries an event for hours and Pub/Sub redelivers a poison
message until it is dead-lettered, while on-call is paged for a client's mistake. So each of the four function
targets (`search`, `slack_events`, `slack_actions`, `slack_answer`) is served by functions-framework in its
own process, as on Cloud Run, and fed arbitrary bytes, arbitrary JSON, near-valid payloads with fields
removed or mistyped, odd methods and paths, wrong content types and oversized bodies. The Slack endpoints get
their garbage correctly signed too, or everything would stop at the signature check and the parsing behind
it would never run.

Where the protocol requires an acknowledgement, a 2xx is the right answer to some garbage, and only there:
* `slack_events` and `slack_actions` answer 200 to a verified envelope or interaction of a type the app
  does not handle (Slack retries anything else), and a near-valid payload may still be a valid one.
* `slack_answer` acknowledges (200, and logs) a Pub/Sub delivery whose envelope is well formed but whose
  question can never be processed: any other answer makes Pub/Sub redeliver the poison message. A request
  that is not a Pub/Sub delivery at all gets a 4xx.

The document modals and buttons are sent about a seeded policy in review, by someone who may neither
decide on it nor revise it, and name an area that does not exist for new documents: besides never failing,
none of them may change the workflow, which each of those tests checks.

`slack_answer` reads the push envelope itself (an HTTP target): as a CloudEvent target, functions-framework
and cloudevents answered 500 to some bodies (not UTF-8, a JSON list or string, a legacy event's shape)
before any code of ours ran; those bodies are in the properties like any other now.
"""

from __future__ import annotations

import base64
import copy
import json
import string
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.documents.store import WorkflowStore
from common.documents.workflow import DocumentWorkflow
from common.infra.versioned_files import FolderFiles
from common.slack.document_blocks import (
    APPROVE_ACTION,
    CHANGES_ACTION,
    DECISION_MODAL,
    DRAFT_MODAL,
    REJECT_ACTION,
    REVISE_ACTION,
    REVISE_MODAL,
    START_MODAL,
    THREAD_SHORTCUT,
    DocRef,
)
from common.slack.feedback_blocks import PROBLEM_KIND_ACTION, PROBLEM_KIND_BLOCK, PROBLEM_MODAL, AnswerRef
from common.slack.quick_knowledge_flow import MODAL as QUICK_MODAL
from common.slack.quick_knowledge_flow import SHORTCUT
from tests.support.chroma_server import ChromaServer
from tests.support.function_service import FunctionService
from tests.support.paths import FIXTURES
from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.slack_signing import form_body, sign
from tests.support.slack_standin import SlackStandin

SLACK_FIXTURES = FIXTURES / "slack"
AUTHOR, APPROVER = "WAUTHOR", "WAPPROVER"
"""Of the seeded document; the sweep's payloads come from W111, neither of them."""
SECRET = "garbage-signing-secret"
API_KEY = "garbage-api-key"
PROJECT = "kb-garbage"
WARM_UP_SECONDS = 120.0
REQUEST_SECONDS = 30.0
MAX_BODY_BYTES = 2 * 1024 * 1024
NOWHERE = "http://127.0.0.1:9/nowhere"
"""A closed port, for the `response_url` the thank-you goes to after a vote is acknowledged."""

GARBAGE = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OVERSIZED = settings(GARBAGE, max_examples=3)


# --- the four services ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    search: str
    slack_events: str
    slack_actions: str
    slack_answer: str
    http: httpx.Client
    workflow: DocumentWorkflow
    """The document workflow `slack_actions` keeps, holding one policy in review."""


@pytest.fixture(scope="module")
def services(
    tmp_path_factory: pytest.TempPathFactory, chroma_server: ChromaServer, pubsub_emulator: PubSubEmulator
) -> Iterator[Services]:
    root = tmp_path_factory.mktemp("garbage")
    questions = f"kb-questions-{uuid.uuid4().hex[:8]}"
    pubsub_emulator.create_topic(PROJECT, questions)
    # A new connection per request: a pooled one shared by the sweep's threads can be closed under another
    # thread (a client-side "Bad file descriptor", not an answer from the endpoint).
    no_pooling = httpx.Limits(max_keepalive_connections=0)
    with SlackStandin() as slack, httpx.Client(timeout=REQUEST_SECONDS, limits=no_pooling) as http:
        slack.add_user("W111", "owner@larkspur.example", "owner")
        slack.add_user("W222", "asker@larkspur.example", "asker")
        common = {
            "CHROMA_URL": chroma_server.url,
            "CHROMA_COLLECTION": f"garbage-{uuid.uuid4().hex[:8]}",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": "xoxb-garbage",
            "SLACK_API_URL": slack.api_url,
        }
        extra = {
            "search": {"SEARCH_API_KEY": API_KEY},
            "slack_events": {
                "GCP_PROJECT": PROJECT,
                "PUBSUB_ENDPOINT": pubsub_emulator.host,
                "QUESTIONS_TOPIC": questions,
            },
        }
        workflow = _seeded_workflow(root / "slack_actions" / "kb-home")
        running: list[FunctionService] = []
        try:
            for target in ("search", "slack_events", "slack_actions", "slack_answer"):
                env = {"KB_HOME": str(root / target / "kb-home"), **common, **extra.get(target, {})}
                running.append(FunctionService(target, env, log_dir=root / target))
            with ThreadPoolExecutor(len(running)) as pool:
                list(pool.map(FunctionService.start, running))
            urls = {service.target: service.url for service in running}
            with ThreadPoolExecutor(len(running)) as pool:
                statuses = dict(
                    zip(
                        urls, pool.map(lambda target: _warm_up(http, target, urls[target]), urls), strict=True
                    )
                )
            assert all(status == 200 for status in statuses.values()), statuses
            yield Services(
                search=urls["search"],
                slack_events=urls["slack_events"],
                slack_actions=urls["slack_actions"],
                slack_answer=urls["slack_answer"],
                http=http,
                workflow=workflow,
            )
        finally:
            for service in running:
                service.stop()


def _seeded_workflow(kb_home: Path) -> DocumentWorkflow:
    """An area whose approver is not the sweep's user, and a policy in review there by someone else: every
    document payload the sweep sends is one its user may not act on, so none may change anything."""
    workflow = DocumentWorkflow(WorkflowStore(FolderFiles(kb_home / "workflow")))
    workflow.set_area("it", (APPROVER,), space_key="IT")
    workflow.create(
        title="VPN from home", area="it", doc_type="policy", classification="internal",
        owner="author@larkspur.example", author=AUTHOR, body="Use the VPN client.",
    )  # fmt: skip
    return workflow


def _warm_up(http: httpx.Client, target: str, url: str) -> int:
    """One real request each, so the embedding model and the clients load before the examples run."""
    if target == "search":
        body = json.dumps(_search_request()).encode()
        headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    elif target == "slack_events":
        body = json.dumps(_mention()).encode()
        headers = {"Content-Type": "application/json", **sign(body, secret=SECRET)}
    elif target == "slack_actions":
        body = form_body(_vote_payload())
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
    else:
        body = json.dumps(_push(json.dumps(_question("EvWarmUp")).encode())).encode()
        headers = {"Content-Type": "application/json"}
    return http.post(url, content=body, headers=headers, timeout=WARM_UP_SECONDS).status_code


# --- valid requests, the starting points of near-valid garbage ---------------------------------------


def _search_request() -> dict[str, Any]:
    return {"query": "How do I connect to the VPN from home?", "top_k": 3, "filters": {"spaces": ["IT"]}}


def _fixture(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((SLACK_FIXTURES / name).read_text())
    return payload


def _mention() -> dict[str, Any]:
    payload = _fixture("bolt-python__event_callback__app_mention.json")
    payload["event"]["text"] = "<@W111> How do I connect to the VPN from home?"
    payload["authorizations"] = [{"user_id": "W111", "is_bot": True}]
    return payload


def _answer_ref() -> AnswerRef:
    return AnswerRef(answer_id="a1", question="vpn?", cited=(("no-such-chunk", "no-such-page"),))


def _vote_payload() -> dict[str, Any]:
    payload = _fixture("bolt-python__block_actions__button.json")
    payload["response_url"] = NOWHERE
    payload["actions"][0].update(action_id="kb_vote_helpful", value=_answer_ref().to_value())
    payload["message"] = {"ts": "111.222", "blocks": [{"type": "section", "block_id": "answer"}]}
    return payload


def _problem_report() -> dict[str, Any]:
    payload = _fixture("bolt-python__view_submission.json")
    view = payload["view"]
    for presentation in ("blocks", "title", "close", "submit"):  # the modal's layout, which nothing reads
        del view[presentation]
    view["callback_id"] = PROBLEM_MODAL
    view["private_metadata"] = json.dumps({"ref": _answer_ref().to_value(), "channel": "C111"})
    view["state"] = {
        "values": {
            PROBLEM_KIND_BLOCK: {PROBLEM_KIND_ACTION: {"selected_option": {"value": "outdated"}}},
            "correction": {"correction_text": {"value": "It moved."}},
        }
    }
    return payload


def _quick_knowledge_submission() -> dict[str, Any]:
    """Missing its title, so Slack is shown the modal's errors and nothing is embedded and saved."""
    values = {
        "title": {"value": {"type": "plain_text_input", "value": ""}},
        "text": {"value": {"type": "plain_text_input", "value": "The VPN moved to vpn2."}},
        "space": {"value": {"type": "plain_text_input", "value": "IT"}},
        "topics": {"value": {"type": "plain_text_input", "value": "vpn, remote"}},
        "classification": {"value": {"type": "static_select", "selected_option": {"value": "internal"}}},
    }
    return {
        "type": "view_submission",
        "user": {"id": "W111", "name": "owner"},
        "view": {
            "callback_id": QUICK_MODAL,
            "private_metadata": json.dumps({"link": "https://slack.example/p1", "channel": "C111"}),
            "state": {"values": values},
        },
    }


def _message_shortcut() -> dict[str, Any]:
    return {
        "type": "message_action",
        "callback_id": SHORTCUT,
        "trigger_id": "111.222.valid",
        "user": {"id": "W111", "name": "owner"},
        "channel": {"id": "C111"},
        "team": {"id": "T111", "domain": "larkspur"},
        "message": {"ts": "1595926230.009600", "text": "The VPN moved to vpn2."},
    }


def _question(event_id: str = "EvGarbage") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "team_id": "T111",
        "channel": "C111",
        "channel_type": "channel",
        "user": "W222",
        "text": "How do I connect to the VPN from home?",
        "ts": "1595926230.009600",
        "thread_ts": "1595926230.009600",
        "is_follow_up": False,
    }


def _push(data: bytes) -> dict[str, Any]:
    """The body a Pub/Sub push subscription POSTs."""
    message_id = str(uuid.uuid4().int)[:16]
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": {"event_id": "Ev1"},
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": "2026-01-01T12:00:00.123Z",
            "publish_time": "2026-01-01T12:00:00.123Z",
        },
        "subscription": f"projects/{PROJECT}/subscriptions/kb-questions-answer",
    }


# --- strategies -------------------------------------------------------------------------------------

# Text with what breaks naive code: control characters, lone surrogates (legal as \ud800 in JSON), emoji.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
json_leaves = st.none() | st.booleans() | st.integers() | st.floats() | any_text
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(any_text, json_values, max_size=5)
# Values of every JSON type, the truthy ones first: `x or {}` lets the falsy ones through unharmed.
wrong_values = st.sampled_from([True, 7, -2.5, "text", ["x"], {"x": "y"}, None, 0, "", [], {}]) | json_values
# Printable ASCII without surrounding blanks: anything else is refused by the HTTP client itself.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(str.strip)
content_types = (
    st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "text/plain",
            "application/octet-stream",
            "application/cloudevents+json",
            "application/json; charset=utf-16",
        ]
    )
    | header_text
)
odd_methods = st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
paths = st.text(st.sampled_from(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/"), max_size=30)


def _paths_in(value: Any, prefix: tuple[Any, ...] = (), depth: int = 3) -> list[tuple[Any, ...]]:
    """Every key and index down to `depth`, where a mutation can strike."""
    if depth == 0:
        return []
    children: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    found: list[tuple[Any, ...]] = []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths_in(child, (*prefix, key), depth - 1))
    return found


@st.composite
def near(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """`valid` with one to three fields removed or replaced by any JSON value."""
    payload = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 3))):
        targets = _paths_in(payload)
        if not targets:
            break
        *parents, key = draw(st.sampled_from(targets))
        container: Any = payload
        for part in parents:
            container = container[part]
        if draw(st.booleans()):
            del container[key]
        else:
            # A copy: the sampled lists and dicts are shared by every example, and a later mutation could
            # reach into one (a list made to hold itself, seen once).
            container[key] = copy.deepcopy(draw(wrong_values))
    return payload


# One value of each JSON type but null (a removed field stands for it), all truthy: `x or {}` is harmless.
TYPE_REPRESENTATIVES: tuple[Any, ...] = (True, 7, "text", ["x"], {"x": "y"})
_REMOVED = object()
SWEEP_CONCURRENCY = 4


def one_field_wrong(valid: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`valid` with each of its fields, at any depth, in turn removed or replaced by a value of each JSON
    type: every single-field mistake, which random mutation reaches only by luck."""
    for *parents, key in _paths_in(valid, depth=10):
        for replacement in (_REMOVED, *TYPE_REPRESENTATIVES):
            payload = copy.deepcopy(valid)
            container: Any = payload
            for part in parents:
                container = container[part]
            if replacement is _REMOVED:
                del container[key]
            else:
                container[key] = copy.deepcopy(replacement)
            yield payload


def _dumps(value: Any) -> bytes:
    """JSON as a sloppy client writes it: NaN and lone surrogates (as escapes) included."""
    return json.dumps(value).encode()


# --- assertions ---------------------------------------------------------------------------------------


def _refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, _described(response)


def _answered(response: httpx.Response, *allowed: int) -> None:
    assert response.status_code in allowed or 400 <= response.status_code < 500, _described(response)


def _described(response: httpx.Response) -> str:
    request = response.request
    return (
        f"{request.method} {request.url} -> {response.status_code} {response.text[:300]!r}\n"
        f"request body: {request.content[:300]!r}"
    )


def _failures(
    send: Callable[[dict[str, Any]], httpx.Response], payloads: Iterable[dict[str, Any]]
) -> list[str]:
    """Every payload sent (a few at a time, as Slack does), described where the answer was not 200 or 4xx."""
    with ThreadPoolExecutor(SWEEP_CONCURRENCY) as pool:
        responses = list(pool.map(send, payloads))
    return [_described(r) for r in responses if not (r.status_code == 200 or 400 <= r.status_code < 500)]


def _signed(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    return {"Content-Type": content_type, **sign(body, secret=SECRET)}


def _authorised(content_type: str = "application/json") -> dict[str, str]:
    return {"Content-Type": content_type, "Authorization": f"Bearer {API_KEY}"}


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


# --- search ---------------------------------------------------------------------------------------------


@GARBAGE
@given(body=st.binary(max_size=300), content_type=content_types)
def test_search_refuses_arbitrary_bytes(services: Services, body: bytes, content_type: str) -> None:
    _refused(services.http.post(services.search, content=body, headers=_authorised(content_type)))


@GARBAGE
@given(value=json_values.filter(lambda v: not (isinstance(v, dict) and "query" in v)))
def test_search_refuses_json_that_is_not_a_search_request(services: Services, value: Any) -> None:
    _refused(services.http.post(services.search, content=_dumps(value), headers=_authorised()))


bad_queries = st.one_of(
    st.just(""),
    st.text(" \t\n\r\u00a0\u2003", min_size=1, max_size=20),
    st.integers(2001, 2100).map(lambda n: "q" * n),
    json_values.filter(lambda v: not isinstance(v, str)),
)
bad_top_ks = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=51),
    st.just(10**40),
    st.floats(),
    st.booleans(),
    any_text,
    st.none(),
    st.lists(st.integers(1, 50), max_size=2),
)
bad_filter_values = st.one_of(
    json_leaves.filter(lambda v: v is not None),
    st.lists(st.integers() | st.none() | st.dictionaries(any_text, json_leaves, max_size=2), min_size=1),
)
bad_filters = st.one_of(
    json_values.filter(lambda v: not isinstance(v, dict) and v not in (None, [], "", 0, False)),
    st.dictionaries(any_text.filter(lambda k: k not in _FILTER_NAMES), json_values, min_size=1, max_size=3),
    st.sampled_from(["spaces", "doc_types", "chunk_types", "labels"]).flatmap(
        lambda name: bad_filter_values.map(lambda v: {name: v})
    ),
    st.builds(lambda v: {"max_classification": v}, json_values.filter(lambda v: v not in _CEILINGS)),
)
_FILTER_NAMES = frozenset({"spaces", "doc_types", "chunk_types", "labels", "max_classification"})
_CEILINGS = ("public", "internal", "confidential")


@st.composite
def mistyped_search_requests(draw: st.DrawFn) -> dict[str, Any]:
    request = _search_request()
    field = draw(st.sampled_from(["query", "top_k", "filters", "extra"]))
    if field == "query":
        request["query"] = draw(bad_queries)
    elif field == "top_k":
        request["top_k"] = draw(bad_top_ks)
    elif field == "filters":
        request["filters"] = draw(bad_filters)
    else:
        request[draw(any_text.filter(lambda k: k not in request))] = draw(json_values)
    return request


@GARBAGE
@given(request=mistyped_search_requests())
def test_search_refuses_a_request_with_a_field_of_the_wrong_type_or_range(
    services: Services, request: dict[str, Any]
) -> None:
    _refused(services.http.post(services.search, content=_dumps(request), headers=_authorised()))


@GARBAGE
@given(request=near(_search_request()))
def test_search_never_fails_on_a_near_valid_request(services: Services, request: dict[str, Any]) -> None:
    # Removing top_k or filters leaves a valid request: a 200 is right for those.
    _answered(services.http.post(services.search, content=_dumps(request), headers=_authorised()), 200)


@GARBAGE
@given(query=any_text.filter(str.strip))
def test_search_answers_any_text_as_a_query(services: Services, query: str) -> None:
    response = services.http.post(services.search, content=_dumps({"query": query}), headers=_authorised())

    assert response.status_code == 200, _described(response)


@GARBAGE
@given(
    method=odd_methods,
    path=paths.filter(lambda p: p.strip("/") != "healthz"),
    body=st.binary(max_size=100),
)
def test_search_refuses_methods_other_than_post(
    services: Services, method: str, path: str, body: bytes
) -> None:
    url = f"{services.search}/{path}"
    _refused(services.http.request(method, url, content=body, headers=_authorised()))


@GARBAGE
@given(authorization=st.none() | header_text, body=st.binary(max_size=100) | st.just(b'{"query": "vpn"}'))
def test_search_refuses_a_request_without_the_api_key(
    services: Services, authorization: str | None, body: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None and authorization != f"Bearer {API_KEY}":
        headers["Authorization"] = authorization
    response = services.http.post(services.search, content=body, headers=headers)

    assert response.status_code == 401, _described(response)


@OVERSIZED
@given(size=st.integers(64 * 1024 + 1, MAX_BODY_BYTES), as_query=st.booleans())
def test_search_refuses_an_oversized_body(services: Services, size: int, as_query: bool) -> None:
    body = _dumps({"query": "q" * size}) if as_query else b"\xff" * size
    _refused(services.http.post(services.search, content=body, headers=_authorised()))


# --- slack_events -------------------------------------------------------------------------------------


@GARBAGE
@given(
    body=st.binary(max_size=200) | json_values.map(_dumps),
    timestamp=st.none() | header_text,
    signature=st.none() | header_text,
)
def test_slack_events_refuses_what_is_not_signed_with_401(
    services: Services, body: bytes, timestamp: str | None, signature: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    response = services.http.post(services.slack_events, content=body, headers=headers)

    assert response.status_code == 401, _described(response)


@GARBAGE
@given(body=st.binary(max_size=300), content_type=content_types)
def test_slack_events_refuses_signed_bytes_that_are_not_an_envelope(
    services: Services, body: bytes, content_type: str
) -> None:
    response = services.http.post(services.slack_events, content=body, headers=_signed(body, content_type))
    # A JSON object of no type Slack sends is acknowledged, as Slack requires of unknown envelopes.
    _answered(response, *((200,) if _is_json_object(body) else ()))


@GARBAGE
@given(value=json_values)
def test_slack_events_refuses_signed_json_that_is_not_an_object(services: Services, value: Any) -> None:
    body = _dumps(value)
    response = services.http.post(services.slack_events, content=body, headers=_signed(body))
    # An object of a type Slack does not send is acknowledged, as Slack requires of unknown envelopes.
    _answered(response, *((200,) if isinstance(value, dict) else ()))


EVENTS = {
    "app_mention": _mention(),
    "message_im": _fixture("bolt-python__event_callback__message_im.json"),
    "url_verification": _fixture("bolt-python__url_verification.json"),
}


@pytest.mark.parametrize("kind", EVENTS)
@GARBAGE
@given(data=st.data())
def test_slack_events_never_fails_on_a_signed_near_valid_event(
    services: Services, kind: str, data: st.DataObject
) -> None:
    body = _dumps(data.draw(near(EVENTS[kind])))
    # Some near-valid events are still valid ones, or ones the bot ignores: both are acknowledged (200).
    _answered(services.http.post(services.slack_events, content=body, headers=_signed(body)), 200)


@pytest.mark.parametrize("kind", EVENTS)
def test_slack_events_never_fails_when_one_field_is_missing_or_of_another_type(
    services: Services, kind: str
) -> None:
    def post(payload: dict[str, Any]) -> httpx.Response:
        body = _dumps(payload)
        return services.http.post(services.slack_events, content=body, headers=_signed(body))

    assert _failures(post, one_field_wrong(EVENTS[kind])) == []


@GARBAGE
@given(method=odd_methods, path=paths, body=st.binary(max_size=100).filter(lambda b: not _is_json_object(b)))
def test_slack_events_refuses_odd_methods_and_paths(
    services: Services, method: str, path: str, body: bytes
) -> None:
    url = f"{services.slack_events}/{path}"
    _refused(services.http.request(method, url, content=body, headers=_signed(body)))


@OVERSIZED
@given(size=st.integers(64 * 1024, MAX_BODY_BYTES), as_text=st.booleans())
def test_slack_events_refuses_an_oversized_signed_body(services: Services, size: int, as_text: bool) -> None:
    if as_text:
        payload = _mention()
        payload["event"]["text"] = "x" * size
        payload["event"]["ts"] = "not-a-ts"
        payload["event_id"] = f"Ev{uuid.uuid4().hex}"
        body = _dumps(payload)
    else:
        body = b"{" * size
    response = services.http.post(services.slack_events, content=body, headers=_signed(body))
    # A long question is still a question: Slack's own limit is 40,000 characters, ours truncates.
    _answered(response, *((200,) if as_text else ()))


# --- slack_actions ------------------------------------------------------------------------------------


@GARBAGE
@given(body=st.binary(max_size=200), signature=st.none() | header_text)
def test_slack_actions_refuses_what_is_not_signed_with_401(
    services: Services, body: bytes, signature: str | None
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers.update({"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": signature})
    response = services.http.post(services.slack_actions, content=body, headers=headers)

    assert response.status_code == 401, _described(response)


@GARBAGE
@given(body=st.binary(max_size=300), content_type=content_types)
def test_slack_actions_refuses_signed_bytes_that_are_not_an_interaction(
    services: Services, body: bytes, content_type: str
) -> None:
    _refused(services.http.post(services.slack_actions, content=body, headers=_signed(body, content_type)))


@GARBAGE
@given(value=json_values)
def test_slack_actions_refuses_a_signed_payload_that_is_not_an_object(services: Services, value: Any) -> None:
    body = form_body(value)
    response = services.http.post(
        services.slack_actions, content=body, headers=_signed(body, "application/x-www-form-urlencoded")
    )
    # An object of a type this app does not handle is acknowledged, as Slack requires.
    _answered(response, *((200,) if isinstance(value, dict) else ()))


INTERACTIONS = {
    "vote": _vote_payload(),
    # A report without a chosen problem is a 200 too: Slack shows the modal's `errors` from it.
    "problem_report": _problem_report(),
    "quick_knowledge": _quick_knowledge_submission(),
    "message_shortcut": _message_shortcut(),
}


def _post_interaction(services: Services, payload: Any) -> httpx.Response:
    body = form_body(payload)
    headers = _signed(body, "application/x-www-form-urlencoded")
    return services.http.post(services.slack_actions, content=body, headers=headers)


@pytest.mark.parametrize("kind", INTERACTIONS)
@GARBAGE
@given(data=st.data())
def test_slack_actions_never_fails_on_a_signed_near_valid_interaction(
    services: Services, kind: str, data: st.DataObject
) -> None:
    _answered(_post_interaction(services, data.draw(near(INTERACTIONS[kind]))), 200)


@pytest.mark.parametrize("kind", INTERACTIONS)
def test_slack_actions_never_fails_when_one_field_is_missing_or_of_another_type(
    services: Services, kind: str
) -> None:
    def post(payload: dict[str, Any]) -> httpx.Response:
        return _post_interaction(services, payload)

    assert _failures(post, one_field_wrong(INTERACTIONS[kind])) == []


@GARBAGE
@given(
    answer_id=json_values,
    question=json_values,
    cited=json_values | st.lists(st.lists(any_text, min_size=2, max_size=2), min_size=1, max_size=3),
)
def test_slack_actions_never_fails_on_a_vote_for_any_answer_reference(
    services: Services, answer_id: Any, question: Any, cited: Any
) -> None:
    payload = _vote_payload()
    payload["actions"][0]["value"] = json.dumps({"a": answer_id, "q": question, "c": cited})
    # A reference to chunks that no longer exist (a sync removed them) is still a vote Slack sent: 200.
    _answered(_post_interaction(services, payload), 200)


@GARBAGE
@given(fields=st.dictionaries(st.sampled_from(["command", "text", "trigger_id", "channel_id"]), st.text()))
def test_slack_actions_never_fails_on_a_signed_slash_command_of_any_text(
    services: Services, fields: dict[str, str]
) -> None:
    body = str(httpx.QueryParams(fields)).encode()
    headers = _signed(body, "application/x-www-form-urlencoded")
    _answered(services.http.post(services.slack_actions, content=body, headers=headers), 200)


@GARBAGE
@given(method=odd_methods, path=paths, body=st.binary(max_size=100))
def test_slack_actions_refuses_odd_methods_and_paths(
    services: Services, method: str, path: str, body: bytes
) -> None:
    url = f"{services.slack_actions}/{path}"
    _refused(services.http.request(method, url, content=body, headers=_signed(body)))


@OVERSIZED
@given(size=st.integers(64 * 1024, MAX_BODY_BYTES))
def test_slack_actions_refuses_an_oversized_signed_body(services: Services, size: int) -> None:
    body = b"payload=" + b"%7B" * (size // 3)
    headers = _signed(body, "application/x-www-form-urlencoded")
    _refused(services.http.post(services.slack_actions, content=body, headers=headers))


# --- slack_actions: documents -------------------------------------------------------------------------


def _document_modal(callback_id: str, meta: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": "W111", "name": "owner"},
        "view": {
            "id": "V111",
            "callback_id": callback_id,
            "private_metadata": json.dumps(meta),
            "state": {"values": {block: {"value": entry} for block, entry in values.items()}},
        },
    }


def _typed(text: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": text}


def _chosen(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


def _document_button(action_id: str, ref: DocRef) -> dict[str, Any]:
    payload = _fixture("bolt-python__block_actions__button.json")
    payload["response_url"] = NOWHERE
    payload["actions"][0].update(action_id=action_id, value=ref.to_value(), block_id="kb_doc")
    return payload


def _document_interactions(workflow: DocumentWorkflow) -> dict[str, dict[str, Any]]:
    """Every document modal and button, as W111 would send them about the seeded policy; an area that does
    not exist for new documents."""
    [doc] = workflow.documents()
    ref = DocRef(doc.id, doc.version)
    fields = {
        "title": _typed("Expenses"),
        "area": _chosen("finance"),
        "doc_type": _chosen("policy"),
        "classification": _chosen("internal"),
        "owner": {"type": "users_select", "selected_user": "W111"},
        "body": _typed("Claim within a month."),
    }
    return {
        "doc_start": _document_modal(START_MODAL, {"channel": "C111"}, {**fields, "description": _typed("")}),
        "doc_draft": _document_modal(DRAFT_MODAL, {"channel": "C111", "source_link": ""}, fields),
        "doc_decision": _document_modal(
            DECISION_MODAL,
            {"d": doc.id, "v": doc.version, "k": "request_changes"},
            {"reason": _typed("Why?")},
        ),
        "doc_revise": _document_modal(
            REVISE_MODAL,
            {"d": doc.id, "v": doc.version},
            {"title": _typed("VPN"), "body": _typed("New text."), "note": _typed("Mine")},
        ),
        "doc_approve": _document_button(APPROVE_ACTION, ref),
        "doc_request_changes": _document_button(CHANGES_ACTION, ref),
        "doc_reject": _document_button(REJECT_ACTION, ref),
        "doc_revise_open": _document_button(REVISE_ACTION, ref),
        "doc_thread": {**_message_shortcut(), "callback_id": THREAD_SHORTCUT},
    }


DOCUMENT_KINDS = (
    "doc_start", "doc_draft", "doc_decision", "doc_revise", "doc_approve", "doc_request_changes",
    "doc_reject", "doc_revise_open", "doc_thread",
)  # fmt: skip


def _workflow_state(workflow: DocumentWorkflow) -> list[Any]:
    """Everything a transition could change: the documents, their versions and decisions, the areas."""
    return [workflow.areas(), *(workflow.history(doc.id) for doc in workflow.documents())]


@pytest.fixture(scope="module")
def untouched(services: Services) -> Iterator[list[Any]]:
    """The workflow as seeded; every document test checks it is still exactly that."""
    before = _workflow_state(services.workflow)
    yield before
    assert _workflow_state(services.workflow) == before


def test_the_document_payloads_are_answered_and_refused_as_the_seeded_state_says(
    services: Services, untouched: list[Any]
) -> None:
    """The starting points are valid payloads: each reaches the workflow, which refuses it."""
    payloads = _document_interactions(services.workflow)
    answers = {kind: _post_interaction(services, payloads[kind]) for kind in DOCUMENT_KINDS}

    assert {kind: r.status_code for kind, r in answers.items()} == dict.fromkeys(DOCUMENT_KINDS, 200)
    for kind in ("doc_start", "doc_draft", "doc_decision", "doc_revise"):
        assert answers[kind].json()["response_action"] == "errors", kind
    assert _workflow_state(services.workflow) == untouched


@pytest.mark.parametrize("kind", DOCUMENT_KINDS)
@GARBAGE
@given(data=st.data())
def test_slack_actions_never_fails_or_changes_a_document_on_a_near_valid_document_payload(
    services: Services, untouched: list[Any], kind: str, data: st.DataObject
) -> None:
    payload = data.draw(near(_document_interactions(services.workflow)[kind]))

    _answered(_post_interaction(services, payload), 200)


@pytest.mark.parametrize("kind", DOCUMENT_KINDS)
def test_slack_actions_never_fails_or_changes_a_document_when_one_field_is_wrong(
    services: Services, untouched: list[Any], kind: str
) -> None:
    def post(payload: dict[str, Any]) -> httpx.Response:
        return _post_interaction(services, payload)

    assert _failures(post, one_field_wrong(_document_interactions(services.workflow)[kind])) == []
    assert _workflow_state(services.workflow) == untouched


@GARBAGE
@given(fields=st.dictionaries(st.sampled_from(["text", "trigger_id", "channel_id", "user_id"]), st.text()))
def test_slack_actions_never_fails_or_changes_a_document_on_the_document_command_with_any_fields(
    services: Services, untouched: list[Any], fields: dict[str, str]
) -> None:
    body = str(httpx.QueryParams({"command": "/kb-doc", **fields})).encode()
    headers = _signed(body, "application/x-www-form-urlencoded")
    _answered(services.http.post(services.slack_actions, content=body, headers=headers), 200)


# --- slack_answer -------------------------------------------------------------------------------------

_JSON = {"Content-Type": "application/json"}


@GARBAGE
@given(body=st.binary(max_size=300), content_type=content_types)
def test_slack_answer_refuses_bytes_that_are_not_a_delivery(
    services: Services, body: bytes, content_type: str
) -> None:
    _refused(services.http.post(services.slack_answer, content=body, headers={"Content-Type": content_type}))


@GARBAGE
@given(value=json_objects)
def test_slack_answer_refuses_a_json_object_that_is_not_a_delivery(
    services: Services, value: dict[str, Any]
) -> None:
    _refused(services.http.post(services.slack_answer, content=_dumps(value), headers=_JSON))


@GARBAGE
@given(envelope=near(_push(_dumps(_question()))))
def test_slack_answer_never_fails_on_a_malformed_push_envelope(
    services: Services, envelope: dict[str, Any]
) -> None:
    response = services.http.post(services.slack_answer, content=_dumps(envelope), headers=_JSON)
    # Mutating only the snake_case duplicates or an attribute leaves a deliverable message: 200.
    _answered(response, 200)


@GARBAGE
@given(data=st.binary(max_size=300) | json_values.map(_dumps))
def test_slack_answer_acknowledges_a_delivery_whose_data_is_not_a_question(
    services: Services, data: bytes
) -> None:
    response = services.http.post(services.slack_answer, content=_dumps(_push(data)), headers=_JSON)

    assert response.status_code == 200, _described(response)


@GARBAGE
@given(question=near(_question()))
def test_slack_answer_acknowledges_a_delivery_of_a_near_valid_question(
    services: Services, question: dict[str, Any]
) -> None:
    if question.get("event_id") == "EvGarbage":
        question["event_id"] = f"Ev{uuid.uuid4().hex}"  # else every example after the first is a duplicate
    response = services.http.post(
        services.slack_answer, content=_dumps(_push(_dumps(question))), headers=_JSON
    )

    assert response.status_code == 200, _described(response)


@GARBAGE
@given(data=json_values, content_type=st.sampled_from(["application/json", "text/plain"]))
def test_slack_answer_refuses_a_binary_cloudevent_that_is_not_a_pubsub_message(
    services: Services, data: Any, content_type: str
) -> None:
    headers = {
        "Content-Type": content_type,
        "ce-specversion": "1.0",
        "ce-id": "1",
        "ce-source": "//pubsub.googleapis.com/projects/p/topics/t",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
    }
    _refused(services.http.post(services.slack_answer, content=_dumps(data), headers=headers))


@GARBAGE
@given(method=odd_methods, path=paths, body=st.binary(max_size=100))
def test_slack_answer_refuses_methods_other_than_post(
    services: Services, method: str, path: str, body: bytes
) -> None:
    _refused(services.http.request(method, f"{services.slack_answer}/{path}", content=body))


@OVERSIZED
@given(size=st.integers(64 * 1024, MAX_BODY_BYTES))
def test_slack_answer_acknowledges_an_oversized_delivery(services: Services, size: int) -> None:
    response = services.http.post(services.slack_answer, content=_dumps(_push(b"\x00" * size)), headers=_JSON)

    assert response.status_code == 200, _described(response)


@pytest.mark.parametrize(
    "body",
    [b"\xff", b"\x00\x00\x00\x00\x00", b"[1]", b'"text"', b'{"context": 1}'],
    ids=["not-utf8", "nul-bytes", "json-list", "json-string", "legacy-event"],
)
def test_slack_answer_refuses_the_bodies_the_cloudevent_framework_crashed_on(
    services: Services, body: bytes
) -> None:
    _refused(services.http.post(services.slack_answer, content=body, headers=_JSON))
