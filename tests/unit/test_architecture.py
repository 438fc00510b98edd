"""The rooms of `common/` keep to their layers: the import contracts in pyproject.toml hold, and they bite."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_of_the_code(tmp_path: Path) -> Path:
    for package in ("common", "functions", "jobs"):
        shutil.copytree(REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_every_import_contract_holds() -> None:
    result = _lint_imports(REPO_ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_quality_module_importing_slack_breaks_the_contracts(tmp_path: Path) -> None:
    root = _copy_of_the_code(tmp_path)
    with (root / "common" / "quality" / "model.py").open("a") as module:
        module.write("\nimport common.slack.answer_blocks  # noqa: E402\n")

    result = _lint_imports(root)

    assert result.returncode == 1
    assert "Quality rules never depend on Slack" in result.stdout
    assert "common.quality.model -> common.slack.answer_blocks" in result.stdout


def test_a_domain_module_reading_settings_breaks_the_contracts(tmp_path: Path) -> None:
    root = _copy_of_the_code(tmp_path)
    with (root / "common" / "search" / "fusion.py").open("a") as module:
        module.write("\nfrom common.config import get_settings  # noqa: E402\n")

    result = _lint_imports(root)

    assert result.returncode == 1
    assert "Only the wiring and the entry points read Settings BROKEN" in " ".join(result.stdout.split())


def test_the_readme_layout_names_every_package_of_common_and_no_other() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    listed = set(re.findall(r"^  ([a-z_]+)/ ", layout, flags=re.MULTILINE))
    packages = {path.parent.name for path in (REPO_ROOT / "common").glob("*/__init__.py")}

    assert listed == packages


def test_common_holds_only_config_errors_and_logs_beside_its_packages() -> None:
    modules = {path.name for path in (REPO_ROOT / "common").glob("*.py")}

    assert modules <= {"__init__.py", "config.py", "errors.py", "logs.py"}
