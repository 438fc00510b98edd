"""Key lines of the Dockerfile (no container engine here, so it is not built in the test run)."""

from __future__ import annotations

import re

from tests.deploy.conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")
DOCKERIGNORE = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()


def test_base_image_and_cpu_torch_before_the_project() -> None:
    assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.M)
    torch = DOCKERFILE.index("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu")
    assert torch < DOCKERFILE.index("pip install .")


def test_dependencies_are_cached_apart_from_the_code() -> None:
    assert DOCKERFILE.index("COPY pyproject.toml") < DOCKERFILE.index("COPY common")


def test_runs_offline_as_a_non_root_user() -> None:
    assert "HF_HUB_OFFLINE=1" in DOCKERFILE
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.M)
    assert users and users[-1] not in {"root", "0"}


def test_entrypoint_serves_a_function_or_runs_a_job() -> None:
    entry = next(line for line in DOCKERFILE.splitlines() if line.startswith("ENTRYPOINT"))
    assert "FUNCTION_TARGET" in entry and "functions-framework" in entry
    assert "python -m" in entry and "jobs.$JOB_NAME" in entry


def test_dockerignore_keeps_secrets_and_the_venv_out() -> None:
    for entry in (".git", ".venv", ".kb", "tests", "*.tfstate"):
        assert entry in DOCKERIGNORE
