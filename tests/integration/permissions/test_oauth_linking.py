"""Linking a Slack user to Confluence with Atlassian's OAuth 2.0 (3LO), against an HTTP stand-in of the
authorize, token and accessible-resources endpoints; the links file is a real DuckDB file on disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet

from common.confluence.folder_source import FolderPageSource
from common.errors import LinkRefused
from common.events.publishers import SpoolPublisher
from common.infra.versioned_files import FolderFiles
from common.permissions.access import AccessResolver
from common.permissions.atlassian_oauth import AtlassianOAuth, OAuthApp
from common.permissions.directory import Directory
from common.permissions.link_state import STATE_LIFETIME, StateSigner
from common.permissions.linking import Linker, TokenLinking
from common.permissions.links import LinkStore
from common.permissions.oauth_callback import OAuthCallback
from common.permissions.token_cipher import TokenCipher
from common.slack.account_links import AccountLinks
from common.slack.client import web_client
from common.store.access import ReadRule, may_read
from tests.support.atlassian_oauth_standin import AtlassianOAuthStandin
from tests.support.paths import SAMPLE_SPACE

SITE = "https://larkspur.atlassian.net/wiki"
REDIRECT = "https://kb.example/confluence/oauth"
KEY = Fernet.generate_key().decode()
ENGINEERING = (ReadRule(groups=("engineering",)),)
TTL = 900.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        self.ticks = 0.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.ticks += seconds


@pytest.fixture
def atlassian() -> Iterator[AtlassianOAuthStandin]:
    with AtlassianOAuthStandin(
        client_id="client-1", client_secret="s3cret", site_url="https://larkspur.atlassian.net"
    ) as standin:
        yield standin


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory(clock: Clock) -> Directory:
    return Directory(FolderPageSource(SAMPLE_SPACE), ttl_seconds=TTL, clock=clock.monotonic)


@pytest.fixture
def linker(atlassian: AtlassianOAuthStandin, clock: Clock, directory: Directory, tmp_path: Path) -> Linker:
    oauth = AtlassianOAuth(
        OAuthApp(
            client_id="client-1",
            client_secret="s3cret",
            redirect_uri=REDIRECT,
            auth_url=atlassian.url,
            api_url=atlassian.url,
            site_url=SITE,
        ),
        timeout_seconds=2.0,
    )
    return Linker(
        links=LinkStore(FolderFiles(tmp_path / "identity")),
        directory=directory,
        tokens=TokenLinking(
            cipher=TokenCipher(KEY), signer=StateSigner(KEY), oauth=oauth, personal_tokens=None
        ),
        publisher=SpoolPublisher(tmp_path / "spool"),
        ttl_seconds=TTL,
        clock=clock,
        monotonic=clock.monotonic,
    )


def _consent(linker: Linker, slack_user_id: str) -> dict[str, str]:
    """What the person's browser does: open the button's URL, accept, come back with code and state."""
    redirect = httpx.get(linker.authorize_url(slack_user_id)).headers["Location"]
    assert redirect.startswith(REDIRECT)
    return {name: values[0] for name, values in parse_qs(urlsplit(redirect).query).items()}


@pytest.fixture
def resolver(linker: Linker, directory: Directory) -> AccessResolver:
    return AccessResolver(linker=linker, directory=directory)


def _no_email() -> None:
    return None


def test_consenting_links_the_slack_user_the_state_names_to_their_account(linker: Linker) -> None:
    link = linker.complete_oauth(**_consent(linker, "WTOM"))

    assert (link.slack_user_id, link.account_id, link.method) == ("WTOM", "557058:tom", "oauth")


def test_a_linked_user_reads_what_their_groups_allow(linker: Linker, resolver: AccessResolver) -> None:
    linker.complete_oauth(**_consent(linker, "WTOM"))

    access = resolver.for_slack_user("WTOM", "im", email=_no_email)

    assert access.status == "personal" and may_read(access.reader, ENGINEERING)


def test_a_forged_state_links_nobody(linker: Linker) -> None:
    params = _consent(linker, "WTOM")
    forged = StateSigner(Fernet.generate_key().decode()).issue("WMALLORY", now=datetime.now(UTC))

    with pytest.raises(LinkRefused, match="not one of ours"):
        linker.complete_oauth(state=forged, code=params["code"])
    assert linker.all() == []


def test_a_state_altered_to_name_someone_else_is_refused(linker: Linker) -> None:
    params = _consent(linker, "WTOM")
    body, _, mac = params["state"].partition(".")
    other = StateSigner(KEY).issue("WMALLORY", now=datetime.now(UTC)).partition(".")[0]

    with pytest.raises(LinkRefused, match="not one of ours"):
        linker.complete_oauth(state=f"{other}.{mac}", code=params["code"])
    assert body != other


def test_a_replayed_state_is_refused(linker: Linker) -> None:
    params = _consent(linker, "WTOM")
    linker.complete_oauth(**params)

    with pytest.raises(LinkRefused, match="already used"):
        linker.complete_oauth(**params)


def test_an_expired_state_is_refused(linker: Linker, clock: Clock) -> None:
    params = _consent(linker, "WTOM")
    clock.advance(STATE_LIFETIME.total_seconds())

    with pytest.raises(LinkRefused, match="expired"):
        linker.complete_oauth(**params)


def test_a_lapsed_access_token_is_refreshed_and_the_rotated_refresh_token_kept(
    linker: Linker, atlassian: AtlassianOAuthStandin, clock: Clock, resolver: AccessResolver
) -> None:
    first = linker.complete_oauth(**_consent(linker, "WTOM"))
    for _ in range(2):
        clock.advance(3600 + TTL)
        assert resolver.for_slack_user("WTOM", "im", email=_no_email).status == "personal"

    assert [path for _, path in atlassian.requests].count("/oauth/token") == 3
    assert linker.all()[0].token != first.token


def test_a_revoked_token_fails_closed_and_offers_to_link_again(
    linker: Linker, atlassian: AtlassianOAuthStandin, clock: Clock, resolver: AccessResolver
) -> None:
    linker.complete_oauth(**_consent(linker, "WTOM"))
    atlassian.revoke("557058:tom")
    clock.advance(3600 + TTL)

    access = resolver.for_slack_user("WTOM", "im", email=_no_email)

    assert access.status == "refused" and access.offers_link
    assert not may_read(access.reader, ENGINEERING)
    assert "Atlassian refused" in access.note


def test_atlassian_unreachable_fails_closed(
    linker: Linker, atlassian: AtlassianOAuthStandin, clock: Clock, resolver: AccessResolver
) -> None:
    linker.complete_oauth(**_consent(linker, "WTOM"))
    atlassian.__exit__()
    clock.advance(3600 + TTL)

    access = resolver.for_slack_user("WTOM", "im", email=_no_email)

    assert access.status == "unavailable" and not may_read(access.reader, ENGINEERING)


def test_tokens_are_stored_only_encrypted(linker: Linker, tmp_path: Path) -> None:
    link = linker.complete_oauth(**_consent(linker, "WTOM"))
    access_token = TokenCipher(KEY).decrypt(link.token).split("\n")[0]

    assert access_token.encode() not in (tmp_path / "identity" / "links.duckdb").read_bytes()


def test_unlinking_deletes_the_link_and_its_tokens(linker: Linker) -> None:
    linker.complete_oauth(**_consent(linker, "WTOM"))

    removed = linker.unlink("WTOM")

    assert removed is not None and linker.all() == []


def test_after_unlinking_the_email_no_longer_links_on_its_own(
    linker: Linker, resolver: AccessResolver
) -> None:
    linker.unlink("WTOM")

    access = resolver.for_slack_user("WTOM", "im", email=lambda: "tom.okafor@larkspur.example")

    assert access.status == "unlinked"


def test_linking_again_after_unlinking_works(linker: Linker) -> None:
    linker.complete_oauth(**_consent(linker, "WTOM"))
    linker.unlink("WTOM")

    link = linker.complete_oauth(**_consent(linker, "WTOM"))

    assert link.method == "oauth" and len(linker.all()) == 1


def test_the_callback_page_links_and_tells_the_user_in_slack(linker: Linker) -> None:
    told: list[tuple[str, str]] = []
    callback = OAuthCallback(linker=lambda: linker, tell=lambda user, text: told.append((user, text)))

    page = callback.handle(_consent(linker, "WTOM"))

    assert page.status == 200 and "is linked" in page.html
    assert [user for user, _ in told] == ["WTOM"]


def test_the_callback_page_says_why_a_forged_state_links_nobody(linker: Linker) -> None:
    told: list[tuple[str, str]] = []
    callback = OAuthCallback(linker=lambda: linker, tell=lambda user, text: told.append((user, text)))
    params = _consent(linker, "WTOM")

    page = callback.handle({"state": params["state"] + "x", "code": params["code"]})

    assert page.status == 400 and "not one of ours" in page.html and told == []


def test_the_callback_page_reports_a_declined_consent(linker: Linker) -> None:
    callback = OAuthCallback(linker=lambda: linker, tell=lambda user, text: None)

    page = callback.handle(
        {"error": "access_denied", "error_description": "User did not authorize the request"}
    )

    assert page.status == 400 and "did not authorize" in page.html


def test_an_unlinked_asker_is_offered_a_button_to_atlassian_with_a_state_bound_to_them(
    linker: Linker, resolver: AccessResolver, clock: Clock
) -> None:
    access = resolver.for_slack_user("WGUEST", "im", email=lambda: "guest@elsewhere.example")
    links = AccountLinks(
        linker=lambda: linker,
        slack=web_client(token="x", base_url="http://127.0.0.1:9/"),
        later=lambda t: t(),
    )

    [note, prompt] = links.blocks(access, "WGUEST")

    url = prompt["accessory"]["url"]
    state = parse_qs(urlsplit(url).query)["state"][0]
    assert "I don't know your Confluence account yet" in json.dumps(note)
    assert prompt["text"]["text"] == "Link your Confluence account to include pages only you can see"
    assert StateSigner(KEY).verify(state, now=clock()).slack_user_id == "WGUEST"


def test_a_channel_answer_offers_no_link_and_says_nothing_about_access(
    linker: Linker, resolver: AccessResolver
) -> None:
    access = resolver.for_slack_user("WGUEST", "channel", email=lambda: None)
    links = AccountLinks(
        linker=lambda: linker,
        slack=web_client(token="x", base_url="http://127.0.0.1:9/"),
        later=lambda t: t(),
    )

    assert links.blocks(access, "WGUEST") == []


def test_using_a_link_records_when_it_was_last_used_at_most_hourly(
    linker: Linker, resolver: AccessResolver, clock: Clock
) -> None:
    linker.complete_oauth(**_consent(linker, "WTOM"))
    clock.advance(600)
    resolver.for_slack_user("WTOM", "im", email=_no_email)
    assert linker.all()[0].last_used_at == clock() - timedelta(seconds=600)

    clock.advance(3600)
    resolver.for_slack_user("WTOM", "im", email=_no_email)

    assert linker.all()[0].last_used_at == clock()
