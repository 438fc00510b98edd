"""The Slack stand-in answers the real `slack_sdk.WebClient` as Slack does, so product tests can trust it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.support.slack_signing import form_body, sign
from tests.support.slack_standin import SlackStandin

FIXTURES = Path("/work/shared/fixtures/slack")


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        standin.add_user("U123", "ada@example.com", "ada")
        yield standin


@pytest.fixture
def client(slack: SlackStandin) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.api_url, retry_handlers=[])


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_lookup_by_email_finds_a_known_user(client: WebClient) -> None:
    response = client.users_lookupByEmail(email="ada@example.com")

    assert response["user"]["id"] == "U123"
    assert response["user"]["team_id"] == "T111"
    assert response["user"]["profile"]["email"] == "ada@example.com"


def test_lookup_by_email_of_an_unknown_address_fails_with_users_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.users_lookupByEmail(email="nobody@example.com")

    assert raised.value.response["error"] == "users_not_found"


def test_users_info_returns_the_same_user(client: WebClient) -> None:
    assert client.users_info(user="U123")["user"]["name"] == "ada"


def test_a_call_without_a_token_is_not_authed(slack: SlackStandin) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=slack.api_url, retry_handlers=[]).auth_test()

    assert raised.value.response["error"] == "not_authed"


def test_post_message_to_a_user_lands_in_a_dm_channel_with_a_ts(
    client: WebClient, slack: SlackStandin
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]

    response = client.chat_postMessage(channel="U123", text="hi", blocks=blocks)

    assert response["channel"] == slack.dm_channel("U123")
    assert response["channel"].startswith("D")
    assert float(response["ts"]) > 0
    assert response["message"]["blocks"] == blocks
    assert slack.messages_to("U123")[0].args["blocks"] == blocks


def test_form_encoded_blocks_are_decoded_from_their_json_string(
    client: WebClient, slack: SlackStandin
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]

    client.api_call("chat.postMessage", data={"channel": "C1", "text": "hi", "blocks": json.dumps(blocks)})

    assert slack.messages_to("C1")[0].args["blocks"] == blocks


def test_each_posted_message_gets_a_later_ts(client: WebClient) -> None:
    first = client.chat_postMessage(channel="C1", text="one")["ts"]
    second = client.chat_postMessage(channel="C1", text="two")["ts"]

    assert float(second) > float(first)


def test_chat_update_of_a_posted_message_replaces_its_text(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U123", text="thinking...")

    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="answer")

    assert updated["ts"] == posted["ts"]
    assert updated["message"]["text"] == "answer"


def test_chat_update_of_an_unknown_ts_fails_with_message_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts="1.000001", text="answer")

    assert raised.value.response["error"] == "message_not_found"


def test_views_open_records_the_view_and_gives_it_an_id(client: WebClient, slack: SlackStandin) -> None:
    view = _fixture("python-slack-sdk__tests_data_view_modal_001.json")

    response = client.views_open(trigger_id="111.222.valid", view=view)

    assert response["view"]["id"].startswith("V")
    assert slack.calls_to("views.open")[0].args["view"] == view


def test_views_open_without_a_trigger_id_fails(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="", view={"type": "modal", "title": {"type": "plain_text", "text": "x"}})

    assert raised.value.response["error"] == "invalid_trigger_id"


def test_an_unknown_method_fails_with_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("conversations.kick")

    assert raised.value.response["error"] == "unknown_method"


def test_a_scripted_429_is_retried_by_the_rate_limit_handler(slack: SlackStandin) -> None:
    client = WebClient(
        token="xoxb-test",
        base_url=slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.fail_next("chat.postMessage", status=429, retry_after=0)

    response = client.chat_postMessage(channel="C1", text="hi")

    assert response["ok"] is True
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_a_scripted_429_without_retries_surfaces_ratelimited(client: WebClient, slack: SlackStandin) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hi")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


def test_a_scripted_ok_false_error_is_returned_with_http_200(client: WebClient, slack: SlackStandin) -> None:
    slack.fail_next("chat.postEphemeral", status=200, error="user_not_in_channel")

    with pytest.raises(SlackApiError) as raised:
        client.chat_postEphemeral(channel="C1", user="U123", text="hi")

    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "user_not_in_channel"


def test_response_url_posts_are_recorded_by_name(slack: SlackStandin) -> None:
    reply = requests.post(slack.response_url("first"), json={"text": "done", "replace_original": True})

    assert reply.status_code == 200
    assert reply.text == "ok"
    assert slack.responses["first"] == [{"text": "done", "replace_original": True}]


def test_a_scripted_response_url_failure_returns_the_status(slack: SlackStandin) -> None:
    slack.fail_response_url(status=500)

    assert requests.post(slack.response_url(), json={"text": "x"}).status_code == 500
    assert requests.post(slack.response_url(), json={"text": "x"}).status_code == 200


def test_sign_matches_slacks_published_test_vector() -> None:
    vector = _fixture("python-slack-sdk__signature_test_vector.json")

    headers = sign(
        vector["body"].encode(), secret=vector["signing_secret"], timestamp=int(vector["timestamp"])
    )

    assert headers == vector["headers"]


def test_form_body_matches_how_slack_encodes_interactivity_payloads() -> None:
    payload = _fixture("bolt-python__block_actions__button.json")
    expected = (FIXTURES / "bolt-python__block_actions__button.form-urlencoded.txt").read_bytes().strip()

    assert form_body(payload) == expected
