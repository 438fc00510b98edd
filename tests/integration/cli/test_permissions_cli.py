"""`kb ask --as`, `kb search --as` and `kb links` on the embedded default: the sample space's restricted
postmortem (group `engineering`, and Priya) is found for an engineer and nobody else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from common.cli.main import main
from common.config import get_settings
from common.permissions.links import LinkStore, UserConfluenceLink
from common.runtime.infra import build_versioned_files
from tests.support.sample_space import copy_sample_space

ENGINEERING = ("1000", "1300", "1303", "1313")
QUESTION = "Which customers did the duplicate payment run affect?"
POSTMORTEM = "Postmortem: Duplicate Payment Run, 19 August 2026"


def kb(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def synced(tmp_path: Path) -> None:
    assert kb("sync", "--from-dir", str(copy_sample_space(tmp_path / "eng", only=ENGINEERING))).exit_code == 0


def _titles(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [hit["page_title"] for hit in json.loads(result.stdout)]


def test_kb_search_as_an_engineer_finds_the_restricted_postmortem(synced: None) -> None:
    assert POSTMORTEM in _titles(kb("search", QUESTION, "--as", "tom.okafor@larkspur.example", "--json"))


def test_kb_search_as_someone_else_or_as_nobody_does_not(synced: None) -> None:
    assert POSTMORTEM not in _titles(kb("search", QUESTION, "--as", "liam.doyle@larkspur.example", "--json"))
    assert POSTMORTEM not in _titles(kb("search", QUESTION, "--json"))


def test_kb_ask_as_an_engineer_in_a_dm_cites_the_postmortem(synced: None) -> None:
    result = kb("ask", QUESTION, "--as", "tom.okafor@larkspur.example", "--conversation", "im", "--json")

    answer = json.loads(result.stdout)
    assert POSTMORTEM in [source["title"] for source in answer["sources"]]
    assert answer["access"]["status"] == "personal"


def test_kb_ask_as_an_engineer_in_a_channel_does_not(synced: None) -> None:
    result = kb("ask", QUESTION, "--as", "tom.okafor@larkspur.example", "--conversation", "channel", "--json")

    assert POSTMORTEM not in result.stdout


def test_kb_ask_as_an_unknown_email_says_why_it_searched_only_open_pages(synced: None) -> None:
    result = kb("ask", QUESTION, "--as", "guest@elsewhere.example")

    assert result.exit_code == 0 and "no Confluence user has the email" in " ".join(result.stderr.split())


def test_kb_links_lists_and_removes_a_link(kb_home: Path) -> None:
    when = "2026-12-01T09:00:00+00:00"
    LinkStore(build_versioned_files(get_settings(), "identity")).save(
        UserConfluenceLink.model_validate(
            {
                "slack_user_id": "WTOM",
                "account_id": "557058:tom",
                "method": "email",
                "linked_at": when,
                "last_used_at": when,
            }
        )
    )

    listed = kb("links", "list", "--json")
    removed = kb("links", "remove", "WTOM")

    assert json.loads(listed.stdout)["account_id"] == "557058:tom" and "token" not in listed.stdout
    assert removed.exit_code == 0 and "Unlinked WTOM" in removed.stdout
    assert "No Slack user is linked" in kb("links", "list").stdout
