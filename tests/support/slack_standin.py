"""An HTTP stand-in for the Slack Web API and for `response_url`, for tests that run the real `slack_sdk`.

Slack cannot be reached from tests, and mocking `WebClient` would hide wire-level mistakes (form vs JSON
bodies, JSON-string `blocks`, auth headers, 429 handling). This serves the few methods the product uses at
`{url}/api/{method}`, replying in Slack's shapes (HTTP 200 with `ok`/`error`), keeps just enough state to
answer consistently (a user directory, posted messages for `chat.update`, streams, assistant threads' status
and prompts), records every call, and can be scripted to fail (429 with Retry-After, HTTP errors, or
`ok: false`). The streaming and assistant-view methods are in `tests.support.slack_streams`.

    with SlackStandin() as slack:
        slack.add_user("U123", "ada@example.com", "ada")
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        ...
        assert slack.messages_to("U123")[0].args["text"] == "hello"
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from common.config import get_settings
from tests.support.local_http import LocalHttpServer
from tests.support.slack_streams import STREAMING_HANDLERS, StreamingMethods

__all__ = ["TEAM_ID", "SlackCall", "SlackStandin", "point_settings_at"]

TEAM_ID = "T111"
BOT_USER_ID = "UBOT"
BOT_ID = "B111"
APP_ID = "A111"

_JSON_ARGS = ("blocks", "attachments", "view", "metadata", "chunks", "prompts")
"""Args that slack_sdk sends as JSON strings inside form bodies; decoded so tests assert on structures."""

_BAD_JSON_ERROR = {"blocks": "invalid_blocks_format", "attachments": "invalid_attachments"}


@dataclass(frozen=True)
class SlackCall:
    method: str
    args: dict[str, Any]
    """Query, form or JSON args merged; `blocks`, `view`, ... decoded to Python objects."""
    headers: dict[str, str]


@dataclass(frozen=True)
class _Failure:
    status: int
    retry_after: int | None
    error: str | None


@dataclass
class _User:
    id: str
    email: str
    name: str


class SlackStandin(StreamingMethods, LocalHttpServer):
    """Slack on 127.0.0.1 with an ephemeral port; a context manager that starts and stops it."""

    def __init__(self, *, token: str | None = None) -> None:
        """`token`: when set, other tokens get `invalid_auth`, so a wrong token in the product fails here."""
        self._token = token
        self._lock = threading.Condition()
        self._users: dict[str, _User] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts_seq = 0
        self._view_seq = 0
        self._views: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._response_url_failures: deque[int] = deque()
        self._hooks: list[tuple[str, Callable[[dict[str, Any]], bool], Callable[[], None]]] = []
        self.calls: list[SlackCall] = []
        self.responses: dict[str, list[dict[str, Any]]] = {}
        self._init_streaming()
        super().__init__()

    @property
    def api_url(self) -> str:
        """WebClient's `base_url` (and the product's SLACK_API_URL): it must end with "/"."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "default") -> str:
        """A distinct URL per name, so a test with several interactions can tell their replies apart."""
        return f"{self.url}/response/{name}"

    def add_user(self, user_id: str, email: str, name: str = "") -> None:
        with self._lock:
            self._users[user_id] = _User(user_id, email, name or email.split("@")[0])

    @staticmethod
    def dm_channel(user_id: str) -> str:
        """Deterministic, so tests can predict the channel a DM to a user lands in."""
        return f"D{user_id}"

    def calls_to(self, method: str) -> list[SlackCall]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 60.0) -> list[SlackCall]:
        """Block until `count` calls to `method` arrived (work done by another process or thread)."""
        with self._lock:
            arrived = self._lock.wait_for(
                lambda: sum(call.method == method for call in self.calls) >= count, timeout=timeout
            )
            found = [call for call in self.calls if call.method == method]
        if not arrived:
            raise AssertionError(f"{len(found)} of {count} {method} call(s) arrived within {timeout:.0f} s")
        return found

    def wait_for_match(
        self, method: str, match: Callable[[SlackCall], bool], count: int = 1, timeout: float = 60.0
    ) -> list[SlackCall]:
        """Like `wait_for`, counting only the calls `match` accepts (one thread among many, one user)."""
        with self._lock:
            arrived = self._lock.wait_for(
                lambda: sum(c.method == method and match(c) for c in self.calls) >= count, timeout=timeout
            )
            found = [call for call in self.calls if call.method == method and match(call)]
        if not arrived:
            raise AssertionError(
                f"{len(found)} of {count} matching {method} call(s) arrived in {timeout:.0f} s"
            )
        return found

    def wait_for_response(self, name: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Block until something was posted to `response_url(name)` (replies sent after acknowledging)."""
        with self._lock:
            if not self._lock.wait_for(lambda: bool(self.responses.get(name)), timeout=timeout):
                raise AssertionError(f"nothing was posted to response_url({name!r}) within {timeout:.0f} s")
            return list(self.responses[name])

    def messages_to(self, channel_or_user: str) -> list[SlackCall]:
        """`chat.postMessage` calls that landed in that channel; a user id also matches its DM channel."""
        targets = {channel_or_user, self._resolve_channel(channel_or_user)}
        return [
            call
            for call in self.calls_to("chat.postMessage")
            if self._resolve_channel(str(call.args.get("channel", ""))) in targets
        ]

    def replies_ts(self, channel: str, thread_ts: str) -> list[str]:
        """The ts of each message posted in that thread (the bot's answers in it), oldest first."""
        target = self._resolve_channel(channel)
        with self._lock:
            return [
                ts
                for (where, ts), message in self._messages.items()
                if where == target and message.get("thread_ts") == thread_ts and ts != thread_ts
            ]

    def posted_ts(self, channel: str) -> list[str]:
        """The ts Slack gave each message posted in `channel` (or a user's DM), oldest first."""
        target = self._resolve_channel(channel)
        with self._lock:
            return [ts for (where, ts) in self._messages if where == target]

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Script failures to test the product's retry and error paths; status 200 needs an `error`."""
        if status == 200 and error is None:
            raise ValueError("a scripted failure with status 200 needs an error code")
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend(_Failure(status, retry_after, error) for _ in range(times))

    def before_next(
        self,
        method: str,
        action: Callable[[], None],
        *,
        when: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> None:
        """Run `action` once, when the next call to `method` whose arguments `when` accepts arrives and
        before it is answered: a way to break something at a known point (kill a worker mid-answer)."""
        with self._lock:
            self._hooks.append((method, when, action))

    def fail_response_url(self, times: int = 1, status: int = 500) -> None:
        with self._lock:
            self._response_url_failures.extend([status] * times)

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._route(Request(environ))(environ, start_response)

    def _route(self, request: Request) -> Response:
        if request.path.startswith("/api/"):
            return self._api(request, request.path.removeprefix("/api/"))
        if request.path.startswith("/response/") and request.method == "POST":
            return self._response_url(request, request.path.removeprefix("/response/"))
        return Response("not found", status=404, content_type="text/plain")

    def _api(self, request: Request, method: str) -> Response:
        args: dict[str, Any] = dict(request.args.items())
        if request.mimetype == "application/json":
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return _reply({"ok": False, "error": "invalid_json"})
            args.update(body)
        else:
            args.update(request.form.items())
        bad_arg = _decode_json_args(args)
        headers = dict(request.headers.items())
        with self._lock:
            self.calls.append(SlackCall(method, args, headers))
            self._lock.notify_all()
            queue = self._failures.get(method)
            failure = queue.popleft() if queue else None
            hook = next((h for h in self._hooks if h[0] == method and h[1](args)), None)
            if hook is not None:
                self._hooks.remove(hook)
        if hook is not None:
            hook[2]()
        if failure is not None:
            return _failure_reply(failure)
        handler = _HANDLERS.get(method)
        if handler is None:
            return _reply({"ok": False, "error": "unknown_method"})
        auth_error = self._auth_error(request, args)
        if auth_error is not None:
            return _reply({"ok": False, "error": auth_error})
        if bad_arg is not None:
            return _reply({"ok": False, "error": _BAD_JSON_ERROR.get(bad_arg, "invalid_arguments")})
        with self._lock:
            return _reply(handler(self, args))

    def _auth_error(self, request: Request, args: dict[str, Any]) -> str | None:
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        token = token or str(args.get("token", ""))
        if not token:
            return "not_authed"
        if self._token is not None and token != self._token:
            return "invalid_auth"
        return None

    def _response_url(self, request: Request, name: str) -> Response:
        body = request.get_json(silent=True, force=True)
        with self._lock:
            self.responses.setdefault(name, []).append(body if isinstance(body, dict) else {})
            status = self._response_url_failures.popleft() if self._response_url_failures else 200
            self._lock.notify_all()
        if status != 200:
            return Response("internal_error", status=status, content_type="text/plain")
        if not isinstance(body, dict):
            return Response("invalid_payload", status=400, content_type="text/plain")
        return Response("ok", content_type="text/plain")

    def _resolve_channel(self, channel: str) -> str:
        """Slack delivers a post to a user id into the bot's DM with that user."""
        return self.dm_channel(channel) if channel[:1] in ("U", "W") else channel

    def _next_ts(self) -> str:
        self._ts_seq += 1
        micros = 1_700_000_000_000_000 + self._ts_seq * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _user_object(self, user: _User) -> dict[str, Any]:
        return {
            "id": user.id,
            "team_id": TEAM_ID,
            "name": user.name,
            "deleted": False,
            "real_name": user.name,
            "tz": "Europe/London",
            "tz_offset": 0,
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "profile": {
                "email": user.email,
                "real_name": user.name,
                "real_name_normalized": user.name,
                "display_name": user.name,
                "display_name_normalized": user.name,
                "team": TEAM_ID,
            },
        }

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email", "")).lower()
        for user in self._users.values():
            if user.email.lower() == email:
                return {"ok": True, "user": self._user_object(user)}
        return {"ok": False, "error": "users_not_found"}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(args.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": self._user_object(user)}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            return {"ok": False, "error": "no_text"}
        channel = self._resolve_channel(channel)
        if channel in self._outside:
            return {"ok": False, "error": "not_in_channel"}
        ts = self._next_ts()
        message = _message(args, ts)
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
            self.bot_replied(channel, str(args["thread_ts"]))
        self._messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Keyed by the channel postMessage returned: Slack wants the D... id here, not the user id."""
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        old = self._messages.get((channel, ts))
        if old is None:
            return {"ok": False, "error": "message_not_found"}
        conflict = self._streaming_conflict(channel, ts)
        if conflict is not None:
            return {"ok": False, "error": conflict}
        message = {**old, **_message(args, ts), "edited": {"user": BOT_USER_ID, "ts": self._next_ts()}}
        self._messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            return {"ok": False, "error": "no_text"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = args.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        self._view_seq += 1
        view_id = f"V{self._view_seq:010d}"
        opened = {
            "id": view_id,
            "team_id": TEAM_ID,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "hash": f"1700000000.{self._view_seq:08d}",
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            **view,
        }
        opened["id"] = view_id
        self._views[view_id] = opened
        return {"ok": True, "view": opened}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replaces an open view by `view_id` (or `external_id`); a stale `hash` is a `hash_conflict`."""
        view = args.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        view_id = str(args.get("view_id") or "")
        if not view_id and args.get("external_id"):
            view_id = next(
                (v for v, o in self._views.items() if o.get("external_id") == args["external_id"]), ""
            )
        current = self._views.get(view_id)
        if current is None:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        self._view_seq += 1
        updated = {**current, "private_metadata": "", "callback_id": "", **view}
        updated.update(id=view_id, hash=f"1700000000.{self._view_seq:08d}", previous_view_id=None)
        self._views[view_id] = updated
        return {"ok": True, "view": updated}

    def last_opened_view(self) -> dict[str, Any]:
        """The view the latest `views.open` opened, as it is now."""
        with self._lock:
            return self._views[max(self._views)]

    def view(self, view_id: str) -> dict[str, Any]:
        """What the view shows now (after any `views.update`)."""
        with self._lock:
            return self._views[view_id]

    def add_thread_message(self, channel: str, ts: str, text: str, *, user: str, thread_ts: str) -> None:
        """A message people wrote (Slack would have sent it as an event), for `conversations.replies`."""
        with self._lock:
            self._messages[(channel, ts)] = {
                "type": "message",
                "user": user,
                "text": text,
                "ts": ts,
                "thread_ts": thread_ts,
            }

    def _reactions(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("timestamp") or not args.get("name"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """The thread's messages, oldest first: its root (ts == thread_ts) and every reply posted in it."""
        channel, thread_ts = str(args.get("channel", "")), str(args.get("ts", ""))
        thread = [
            message
            for (where, ts), message in self._messages.items()
            if where == channel and (ts == thread_ts or message.get("thread_ts") == thread_ts)
        ]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": sorted(thread, key=lambda m: float(m["ts"])), "has_more": False}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://standin.slack.com/",
            "team": "Standin Workspace",
            "user": "kb-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }


_HANDLERS = {
    "users.lookupByEmail": SlackStandin._users_lookup_by_email,
    "users.info": SlackStandin._users_info,
    "chat.postMessage": SlackStandin._chat_post_message,
    "chat.update": SlackStandin._chat_update,
    "chat.postEphemeral": SlackStandin._chat_post_ephemeral,
    "views.open": SlackStandin._views_open,
    "views.update": SlackStandin._views_update,
    "auth.test": SlackStandin._auth_test,
    "reactions.add": SlackStandin._reactions,
    "reactions.remove": SlackStandin._reactions,
    "conversations.replies": SlackStandin._conversations_replies,
    **STREAMING_HANDLERS,
}


def _decode_json_args(args: dict[str, Any]) -> str | None:
    """Decode in place; returns the first arg that was not valid JSON so the call can fail like Slack's."""
    bad: str | None = None
    for key in _JSON_ARGS:
        value = args.get(key)
        if isinstance(value, str):
            try:
                args[key] = json.loads(value)
            except ValueError:
                bad = bad or key
    return bad


def _message(args: dict[str, Any], ts: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "text": str(args.get("text", "")),
        "ts": ts,
    }
    for key in ("blocks", "attachments", "metadata"):
        if key in args:
            message[key] = args[key]
    return message


def _failure_reply(failure: _Failure) -> Response:
    error = failure.error or ("ratelimited" if failure.status == 429 else "internal_error")
    response = _reply({"ok": False, "error": error}, status=failure.status)
    if failure.retry_after is not None and failure.status != 200:
        response.headers["Retry-After"] = str(failure.retry_after)
    return response


def _reply(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def point_settings_at(standin: SlackStandin, monkeypatch: pytest.MonkeyPatch, *, signing_secret: str) -> None:
    """The environment a Slack-facing process gets, with its Web API calls sent to `standin`."""
    monkeypatch.setenv("SLACK_SIGNING_SECRET", signing_secret)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", standin.api_url)
    get_settings.cache_clear()
