"""The Terraform is formatted and locked down: parsed with python-hcl2, checked offline.

The same check functions run on a deliberately broken copy, to show each would catch the regression.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import TERRAFORM_DIR, find_tool

checks = pytest.importorskip("tests.deploy.terraform_checks", reason="python-hcl2 is not installed")

SLACK_ENDPOINTS = {"slack_events", "slack_actions"}
PUBLIC = SLACK_ENDPOINTS | {"confluence_oauth"}
"""Reached by Slack, or by a browser back from Atlassian: each authenticates its requests in code."""


def test_terraform_fmt() -> None:
    terraform = find_tool("terraform")
    if terraform is None:
        pytest.skip("terraform binary not on PATH")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (
        f"run `terraform fmt -recursive terraform/`:\n{result.stdout}{result.stderr}"
    )


def test_only_the_slack_endpoints_are_public() -> None:
    assert checks.public_services(checks.load(TERRAFORM_DIR)) == PUBLIC


def test_bucket_is_private_uniform_and_versioned() -> None:
    tree = checks.load(TERRAFORM_DIR)
    assert list(tree.resources("google_storage_bucket")), "no bucket found"
    assert checks.bucket_problems(tree) == []


def test_backups_are_kept_two_weeks_daily_and_twelve_weeks_weekly() -> None:
    [bucket] = checks.load(TERRAFORM_DIR).resources("google_storage_bucket")
    kept = {
        checks.text(checks.scalar(condition.get("matches_prefix"))): checks.scalar(condition.get("age"))
        for rule in checks.blocks(checks.scalar(bucket.body.get("lifecycle_rule")))
        for condition in checks.blocks(checks.scalar(rule.get("condition")))
        if checks.scalar(condition.get("age")) is not None
    }

    assert kept["backups/daily/"] == 14
    assert kept["backups/weekly/"] == 84


def test_no_credentials_in_plain_environment_variables() -> None:
    assert checks.plain_secret_env(checks.load(TERRAFORM_DIR)) == []


def test_every_service_and_job_has_its_own_service_account() -> None:
    tree = checks.load(TERRAFORM_DIR)
    calls = [*tree.modules(checks.SERVICE_MODULE), *tree.modules(checks.JOB_MODULE)]
    assert {c.name for c in calls} == {
        "search", "slack_events", "slack_actions", "slack_answer", "confluence_oauth",
        "confluence_sync", "quality_decay", "analytics_ingest", "backup", "document_workflow", "nightly_eval",
        "weekly_gaps",
    }  # fmt: skip
    assert checks.identity_problems(tree) == []


def test_answer_push_subscription_uses_oidc_and_dead_letters() -> None:
    assert checks.push_problems(checks.load(TERRAFORM_DIR)) == []


def test_every_variable_has_description_and_type() -> None:
    tree = checks.load(TERRAFORM_DIR)
    missing = [
        f"{path.relative_to(TERRAFORM_DIR)}: {name}"
        for path, parsed in tree.files.items()
        for entry in parsed.get("variable", [])
        for name, body in entry.items()
        if "description" not in body or "type" not in body
    ]
    assert missing == []


def test_service_sizes_follow_the_workloads() -> None:
    tree = checks.load(TERRAFORM_DIR)
    calls = {c.name: c.body for c in tree.modules(checks.SERVICE_MODULE)}
    assert checks.scalar(calls["slack_actions"]["cpu_idle"]) is False  # finishes work after acknowledging
    assert checks.scalar(calls["search"]["memory"]) == "4Gi"  # two workers, each with the model and index
    assert checks.scalar(calls["slack_answer"]["memory"]) == "2Gi"
    assert checks.scalar(calls["slack_actions"]["memory"]) == "2Gi"  # indexes a published document


# --- the same checks catch a broken copy ---------------------------------------------------------------


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    source = path.read_text(encoding="utf-8")
    assert re.search(old, source), f"{old!r} not in {path.name}: update the broken-copy test"
    path.write_text(re.sub(old, new, source, count=1), encoding="utf-8")


def test_public_bucket_is_caught(broken_copy: Path) -> None:
    _edit(
        broken_copy / "storage.tf",
        r'public_access_prevention\s*=\s*"enforced"',
        'public_access_prevention = "inherited"',
    )
    with (broken_copy / "storage.tf").open("a", encoding="utf-8") as handle:
        handle.write(
            '\nresource "google_storage_bucket_iam_member" "oops" {\n'
            "  bucket = google_storage_bucket.main.name\n"
            '  role   = "roles/storage.objectViewer"\n'
            '  member = "allUsers"\n}\n'
        )
    problems = checks.bucket_problems(checks.load(broken_copy))
    assert any("public_access_prevention" in p for p in problems)
    assert any("oops" in p for p in problems)


def test_all_users_invoker_on_search_is_caught(broken_copy: Path) -> None:
    with (broken_copy / "main.tf").open("a", encoding="utf-8") as handle:
        handle.write(
            '\nresource "google_cloud_run_v2_service_iam_member" "search_public" {\n'
            "  name   = module.search.name\n"
            '  role   = "roles/run.invoker"\n'
            '  member = "allUsers"\n}\n'
        )
    assert "search" in checks.public_services(checks.load(broken_copy))


def test_public_flag_on_search_is_caught(broken_copy: Path) -> None:
    _edit(broken_copy / "main.tf", r'(function_target\s*=\s*"search")', r"\1\n  public = true")
    assert checks.public_services(checks.load(broken_copy)) == PUBLIC | {"search"}


def test_plain_secret_env_is_caught(broken_copy: Path) -> None:
    _edit(
        broken_copy / "main.tf",
        r"LOG_FORMAT\s*=\s*\"json\"",
        'LOG_FORMAT = "json"\n    SLACK_BOT_TOKEN = "xoxb-123"',
    )
    assert any("SLACK_BOT_TOKEN" in p for p in checks.plain_secret_env(checks.load(broken_copy)))


def test_shared_or_missing_service_account_is_caught(broken_copy: Path) -> None:
    _edit(broken_copy / "main.tf", r'main\["slack-answer"\]\.email', 'main["search"].email')
    _edit(broken_copy / "modules/cloud_run_job/main.tf", r"service_account = var.service_account_email\n", "")
    problems = checks.identity_problems(checks.load(broken_copy))
    assert any("slack_answer" in p and "shares" in p for p in problems)
    assert any("google_cloud_run_v2_job" in p for p in problems)


def test_push_without_oidc_is_caught(broken_copy: Path) -> None:
    _edit(broken_copy / "pubsub.tf", r"oidc_token \{[^}]*\}", "")
    assert any("OIDC" in p for p in checks.push_problems(checks.load(broken_copy)))
