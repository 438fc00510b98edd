"""What `kb` prints on a terminal: the progress bar and the answer, not info logs, unless asked for them."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.support.function_service import isolated_environment
from tests.support.sample_space import IT_SECTION, copy_sample_space

KB = str(Path(sys.executable).with_name("kb"))


def _on_a_terminal(*args: str, kb_home: Path) -> str:
    """Run `kb ARGS` with stdout and stderr on a pseudo-terminal, as a person at a shell would."""
    controller, terminal = pty.openpty()
    env = isolated_environment({"KB_HOME": str(kb_home), "COLUMNS": "120"})
    env.pop("LOG_LEVEL", None)
    process = subprocess.Popen(
        [KB, *args], stdout=terminal, stderr=terminal, stdin=subprocess.DEVNULL, env=env
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:
            break
        if not data:
            break
        output += data
    process.wait(timeout=300)
    os.close(controller)
    assert process.returncode == 0, output.decode(errors="replace")
    return output.decode(errors="replace")


def test_a_sync_on_a_terminal_shows_its_progress_and_summary_without_info_logs(
    tmp_path: Path, kb_home: Path
) -> None:
    space = copy_sample_space(tmp_path / "it", only=IT_SECTION)

    printed = _on_a_terminal("sync", "--from-dir", str(space), kb_home=kb_home)

    assert "Synced:" in printed and "Syncing" in printed
    assert "page_indexed" not in printed and "space_sync_started" not in printed


def test_verbose_shows_the_info_logs_and_a_log_file_takes_them_instead(tmp_path: Path, kb_home: Path) -> None:
    space = copy_sample_space(tmp_path / "it", only=IT_SECTION)
    log_file = tmp_path / "kb.log"

    verbose = _on_a_terminal("-v", "sync", "--from-dir", str(space), "--full", kb_home=kb_home)
    quiet = _on_a_terminal(
        "--log-file", str(log_file), "sync", "--from-dir", str(space), "--full", kb_home=kb_home
    )

    assert "space_sync_started" in verbose
    assert "space_sync_started" not in quiet and '"message": "space_sync_started"' in log_file.read_text()
