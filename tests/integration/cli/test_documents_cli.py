"""`kb approvers` and `kb doc` on the embedded default: the whole workflow without Slack or Confluence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from common.cli.main import main
from common.errors import EXIT_ERRORS

POLICY = "## Who\n\nEveryone may take **two** volunteering days a year.\n\nBook them in the HR portal.\n"


def kb(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def said(result: Result) -> str:
    """stderr as one line: the console wraps long messages to the terminal's width."""
    return " ".join(result.stderr.split())


def kb_json(*args: str) -> Any:
    result = kb(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.md"
    path.write_text(POLICY, encoding="utf-8")
    return path


def create_policy(body_file: Path, *, area: str = "people") -> Any:
    return kb_json(
        "doc", "create", "--title", "Volunteering days", "--area", area, "--type", "policy",
        "--body-file", str(body_file), "--as", "U9",
    )  # fmt: skip


def test_a_policy_is_created_in_review_approved_published_and_found(body_file: Path) -> None:
    kb_json("approvers", "set", "people", "U1")

    created = create_policy(body_file)
    assert (created["status"], created["waiting_on"]) == ("in_review", ["U1"])
    approved = kb_json("doc", "approve", created["id"], "--as", "U1")
    assert approved["status"] == "published"

    hits = json.loads(kb("search", "How many volunteering days do I get?", "--json").stdout)
    assert hits[0]["page_title"] == "Volunteering days"
    assert hits[0]["url"] == approved["url"]


def test_a_policy_in_an_area_without_approvers_exits_with_the_command_to_run(body_file: Path) -> None:
    kb_json("approvers", "set", "people")

    result = kb("doc", "create", "--title", "T", "--area", "people", "--type", "policy",
                "--body-file", str(body_file))  # fmt: skip

    assert result.exit_code == EXIT_ERRORS
    assert "kb approvers set people USER…" in said(result)
    assert "Traceback" not in result.output


def test_the_list_shows_who_a_document_in_review_waits_on(body_file: Path) -> None:
    kb_json("approvers", "set", "people", "U1", "U2")
    created = create_policy(body_file)

    listed = kb_json("doc", "list", "--status", "in_review")

    assert [(d["id"], d["waiting_on"]) for d in listed] == [(created["id"], ["U1", "U2"])]


def test_show_prints_the_history_and_the_difference_between_two_versions(
    body_file: Path, tmp_path: Path
) -> None:
    kb_json("approvers", "set", "people", "U1")
    created = create_policy(body_file)
    kb_json("doc", "request-changes", created["id"], "--as", "U1", "--reason", "Say how to book")
    revised_body = tmp_path / "v2.md"
    revised_body.write_text(POLICY.replace("HR portal", "HR portal under Leave → Volunteering"))
    kb_json("doc", "revise", created["id"], "--body-file", str(revised_body), "--note", "How to book",
            "--as", "U9")  # fmt: skip

    shown = kb("doc", "show", created["id"], "--diff", "1", "2")

    assert shown.exit_code == 0, shown.output
    assert "How to book" in shown.stdout and "Say how to book" in shown.stdout
    assert "-Book them in the HR portal." in shown.stdout
    assert "+Book them in the HR portal under Leave → Volunteering." in shown.stdout


def test_a_decision_on_a_superseded_version_exits_saying_so(body_file: Path) -> None:
    kb_json("approvers", "set", "people", "U1")
    created = create_policy(body_file)
    kb_json("doc", "request-changes", created["id"], "--as", "U1", "--reason", "More")
    kb_json("doc", "revise", created["id"], "--body-file", str(body_file), "--note", "Same", "--as", "U9")

    result = kb("doc", "approve", created["id"], "--as", "U1", "--version", "1")

    assert result.exit_code == EXIT_ERRORS
    assert "now at version 2" in said(result)


def test_approvers_list_shows_each_area(body_file: Path) -> None:
    kb_json("approvers", "set", "people", "U1", "U2", "--space", "HR")

    listed = kb_json("approvers", "list")

    assert [(a["area"], a["approvers"], a["space"]) for a in listed] == [("people", ["U1", "U2"], "HR")]
