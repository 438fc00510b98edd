"""Data Center: linking with a personal access token, checked against a Confluence stand-in's
`user/current`, offered in Slack as a button and a modal (Slack Web API stand-in)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from common.confluence.folder_source import FolderPageSource
from common.errors import LinkRefused
from common.events.publishers import SpoolPublisher
from common.infra.versioned_files import FolderFiles
from common.permissions.access import AccessResolver
from common.permissions.atlassian_oauth import PersonalTokenCheck
from common.permissions.directory import Directory
from common.permissions.link_state import StateSigner
from common.permissions.linking import Linker, TokenLinking
from common.permissions.links import LinkStore
from common.permissions.token_cipher import TokenCipher
from common.slack.account_links import TOKEN_ACTION, TOKEN_MODAL, AccountLinks
from common.slack.client import web_client
from common.store.access import ReadRule, may_read
from tests.support.confluence_standin import ConfluenceStandin
from tests.support.paths import SAMPLE_SPACE
from tests.support.slack_standin import SlackStandin

KEY = Fernet.generate_key().decode()
ENGINEERING = (ReadRule(groups=("engineering",)),)


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def confluence() -> Iterator[ConfluenceStandin]:
    with ConfluenceStandin(user=None) as standin:
        standin.add_user("557058:tom", "Tom Okafor", email="tom.okafor@larkspur.example")
        standin.personal_tokens["pat-of-tom"] = "557058:tom"
        yield standin


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def directory(ticks: Ticks) -> Directory:
    return Directory(FolderPageSource(SAMPLE_SPACE), ttl_seconds=900, clock=ticks)


@pytest.fixture
def linker(confluence: ConfluenceStandin, directory: Directory, ticks: Ticks, tmp_path: Path) -> Linker:
    return Linker(
        links=LinkStore(FolderFiles(tmp_path / "identity")),
        directory=directory,
        tokens=TokenLinking(
            cipher=TokenCipher(KEY),
            signer=StateSigner(KEY),
            oauth=None,
            personal_tokens=PersonalTokenCheck(confluence.url, timeout_seconds=1.0),
        ),
        publisher=SpoolPublisher(tmp_path / "spool"),
        ttl_seconds=900,
        monotonic=ticks,
    )


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        yield standin


def _links(linker: Linker, slack: SlackStandin) -> AccountLinks:
    return AccountLinks(
        linker=lambda: linker,
        slack=web_client(token="xoxb-test", base_url=slack.api_url),
        later=lambda task: task(),
    )


def test_a_personal_token_links_its_owner(linker: Linker) -> None:
    link = linker.link_personal_token("WTOM", "  pat-of-tom\n")

    assert (link.account_id, link.method) == ("557058:tom", "pat")


def test_a_token_confluence_refuses_links_nobody(linker: Linker) -> None:
    with pytest.raises(LinkRefused, match="refused that personal access token"):
        linker.link_personal_token("WTOM", "not-a-token")
    assert linker.all() == []


def test_a_token_revoked_in_confluence_fails_closed_after_the_ttl(
    linker: Linker, directory: Directory, confluence: ConfluenceStandin, ticks: Ticks
) -> None:
    linker.link_personal_token("WTOM", "pat-of-tom")
    resolver = AccessResolver(linker=linker, directory=directory)
    assert may_read(resolver.for_slack_user("WTOM", "im", email=lambda: None).reader, ENGINEERING)
    del confluence.personal_tokens["pat-of-tom"]

    ticks.now = 900

    access = resolver.for_slack_user("WTOM", "im", email=lambda: None)
    assert access.status == "refused" and not may_read(access.reader, ENGINEERING)


def test_an_unlinked_asker_is_offered_the_token_button(
    linker: Linker, directory: Directory, slack: SlackStandin
) -> None:
    access = AccessResolver(linker=linker, directory=directory).for_slack_user(
        "WGUEST", "im", email=lambda: "guest@elsewhere.example"
    )

    blocks = json.dumps(_links(linker, slack).blocks(access, "WGUEST"))

    assert TOKEN_ACTION in blocks and "Link your Confluence account" in blocks


def test_the_token_modal_links_and_the_outcome_arrives_by_dm(linker: Linker, slack: SlackStandin) -> None:
    payload = {
        "type": "view_submission",
        "user": {"id": "WTOM"},
        "view": {
            "callback_id": TOKEN_MODAL,
            "state": {"values": {"token": {"token_input": {"value": "pat-of-tom"}}}},
        },
    }

    reply = _links(linker, slack).submit_token(payload)

    assert reply.status == 200 and reply.body is None
    assert "Linked" in slack.messages_to("WTOM")[-1].args["text"]
    assert linker.all()[0].account_id == "557058:tom"


def test_an_empty_token_keeps_the_modal_open_saying_what_is_missing(
    linker: Linker, slack: SlackStandin
) -> None:
    payload = {
        "user": {"id": "WTOM"},
        "view": {"state": {"values": {"token": {"token_input": {"value": " "}}}}},
    }

    reply = _links(linker, slack).submit_token(payload)

    assert reply.body == {"response_action": "errors", "errors": {"token": "Paste a personal access token."}}
