"""cloudbuild.yaml validates against Cloud Build's schema and runs the steps in the documented order."""

from __future__ import annotations

import subprocess

import pytest

from tests.deploy.conftest import REPO, find_tool

CLOUDBUILD = REPO / "cloudbuild.yaml"


def test_cloudbuild_matches_schema() -> None:
    tool = find_tool("check-jsonschema")
    if tool is None:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.cloudbuild", str(CLOUDBUILD)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_steps_test_build_push_then_plan_and_apply() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    config = yaml.safe_load(CLOUDBUILD.read_text(encoding="utf-8"))
    ids = [step["id"] for step in config["steps"]]
    assert ids == ["test", "build", "push", "terraform-init", "terraform-plan", "terraform-apply"]
    plan = " ".join(config["steps"][4]["args"])
    assert "-out=tfplan" in plan and "-var=image=" in plan
    assert config["steps"][5]["args"][-1] == "tfplan"
