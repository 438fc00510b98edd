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
    assert ids == ["fixtures", "test", "build", "push", "terraform-init", "terraform-plan", "terraform-apply"]
    plan = " ".join(config["steps"][5]["args"])
    assert "-out=tfplan" in plan and "-var=image=" in plan
    assert config["steps"][6]["args"][-1] == "tfplan"


def test_the_test_step_has_what_the_local_services_need() -> None:
    """Without Java and the emulator the Pub/Sub tests skip, and without the fixtures most tests fail."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    config = yaml.safe_load(CLOUDBUILD.read_text(encoding="utf-8"))
    [test] = [step for step in config["steps"] if step["id"] == "test"]
    script = test["args"][-1]
    assert "openjdk-17" in script and "google-cloud-cli-pubsub-emulator" in script
    assert "download.pytorch.org/whl/cpu" in script and script.rstrip().endswith("make test")
    assert "KB_SHARED_DIR=/workspace/.shared" in test["env"]
