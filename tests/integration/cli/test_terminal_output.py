"""What `kb` prints on a terminal: one progress bar whose page total is known from the start, then a summary,
and no info logs unless asked for them; nothing drawn when its output is not a terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.confluence_standin import ConfluenceStandin
from tests.support.function_service import isolated_environment
from tests.support.sample_space import IT_SECTION, copy_sample_space, load_into_confluence

KB = str(Path(sys.executable).with_name("kb"))
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CURSOR_UP = "\x1b[1A"
"""What Rich writes to redraw a live display taller than one line: a second bar would need it."""
FRAME = re.compile(r"(\d+)/(\d+|\?) pages")
LOG_EVENTS = ("page_indexed", "space_sync_started", "space_sync_finished", "sync_planned", "[info")


@dataclass(frozen=True)
class Printed:
    terminal: str
    """Everything written to the terminal, escape codes included."""
    stdout: str = ""
    """What went to a piped stdout, when it was not the terminal."""

    @property
    def text(self) -> str:
        return ESCAPE.sub("", self.terminal).replace("\r", "\n")

    def frames(self) -> list[tuple[str, str]]:
        """Every (done, total) the bar showed, in order."""
        return FRAME.findall(self.text)


def _run(
    *args: str, kb_home: Path, env: Mapping[str, str] | None = None, pipe_stdout: bool = False
) -> Printed:
    """Run `kb ARGS` with stderr (and stdout, unless piped) on a pseudo-terminal, as at a shell."""
    controller, terminal = pty.openpty()
    environment = isolated_environment({"KB_HOME": str(kb_home), "COLUMNS": "120", **(env or {})})
    environment.pop("LOG_LEVEL", None)
    process = subprocess.Popen(
        [KB, *args],
        stdout=subprocess.PIPE if pipe_stdout else terminal,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        env=environment,
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
    stdout = process.stdout.read().decode() if process.stdout is not None else ""
    process.wait(timeout=300)
    os.close(controller)
    printed = Printed(output.decode(errors="replace"), stdout)
    assert process.returncode == 0, printed.text + stdout
    return printed


@pytest.fixture(scope="module")
def it_sync(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    """A first `kb sync` of the IT section on a terminal."""
    root = tmp_path_factory.mktemp("terminal-sync")
    space = copy_sample_space(root / "it", only=IT_SECTION)
    return _run("sync", "--from-dir", str(space), kb_home=root / "kb-home")


def test_the_bar_shows_the_page_total_from_its_first_frame_to_its_last(it_sync: Printed) -> None:
    counted = [frame for frame in it_sync.frames() if frame[1] != "?"]

    assert counted[0] == ("0", str(len(IT_SECTION)))
    assert {total for _, total in counted} == {str(len(IT_SECTION))}
    assert counted[-1] == (str(len(IT_SECTION)), str(len(IT_SECTION)))


def test_the_sync_draws_one_bar_line_labelled_with_its_space_and_an_eta(it_sync: Printed) -> None:
    assert CURSOR_UP not in it_sync.terminal
    assert "Syncing HB" in it_sync.text and "ETA " in it_sync.text


def test_no_log_line_is_printed_between_the_bar_frames(it_sync: Printed) -> None:
    assert not [event for event in LOG_EVENTS if event in it_sync.text]
    assert '{"' not in it_sync.text


def test_a_summary_follows_the_bar_with_pages_chunks_and_time(it_sync: Printed) -> None:
    text = it_sync.text

    assert re.search(r"Synced HB in \d+\.\d s", text)
    assert f"pages:  {len(IT_SECTION)} added, 0 changed, 0 unchanged, 0 removed" in text
    assert re.search(r"chunks: (\d+) embedded, \1 written, 0 deleted", text)
    assert text.index("Synced HB") > text.rindex(" pages ")


@pytest.fixture
def confluence() -> Iterator[ConfluenceStandin]:
    with ConfluenceStandin() as standin:
        yield standin


def _confluence_env(confluence: ConfluenceStandin) -> dict[str, str]:
    """Two spaces: the IT section in HB and two of its pages in OPS."""
    load_into_confluence(confluence, space_key="HB")
    load_into_confluence(confluence, space_key="OPS", only=("1000", "1100"))
    return {
        "CONFLUENCE_URL": confluence.url,
        "CONFLUENCE_USER": confluence.user or "",
        "CONFLUENCE_API_TOKEN": confluence.token,
        "CONFLUENCE_SPACES": "HB,OPS",
        "CONFLUENCE_MAX_RETRIES": "0",
    }


def test_one_bar_and_one_total_cover_every_confluence_space(
    confluence: ConfluenceStandin, kb_home: Path
) -> None:
    printed = _run("sync", kb_home=kb_home, env=_confluence_env(confluence))

    total = str(len(IT_SECTION) + 2)
    assert {t for _, t in printed.frames() if t != "?"} == {total}
    assert "Syncing HB" in printed.text and "Syncing OPS" in printed.text
    assert CURSOR_UP not in printed.terminal
    assert "Synced HB, OPS in" in printed.text


def test_when_confluence_cannot_count_the_bar_says_so_and_counts_pages_done_without_a_total(
    kb_home: Path,
) -> None:
    with ConfluenceStandin(total_size=False) as confluence:
        printed = _run("sync", kb_home=kb_home, env=_confluence_env(confluence))

    assert "could not be counted" in printed.text and "totalSize" in printed.text
    assert {total for _, total in printed.frames()} == {"?"}
    assert (str(len(IT_SECTION) + 2), "?") in printed.frames()
    assert f"pages:  {len(IT_SECTION) + 2} added" in printed.text


def test_with_stdout_not_a_terminal_no_bar_is_drawn(tmp_path: Path, kb_home: Path) -> None:
    space = copy_sample_space(tmp_path / "it", only=IT_SECTION)

    printed = _run("sync", "--from-dir", str(space), kb_home=kb_home, pipe_stdout=True)

    assert not printed.frames() and "Syncing" not in printed.text
    assert "Synced HB in" in printed.stdout


def test_verbose_shows_the_info_logs_and_a_log_file_takes_them_instead(tmp_path: Path, kb_home: Path) -> None:
    space = copy_sample_space(tmp_path / "it", only=IT_SECTION)
    log_file = tmp_path / "kb.log"

    verbose = _run("-v", "sync", "--from-dir", str(space), "--full", kb_home=kb_home)
    quiet = _run("--log-file", str(log_file), "sync", "--from-dir", str(space), "--full", kb_home=kb_home)

    assert "space_sync_started" in verbose.text
    assert "space_sync_started" not in quiet.text
    assert '"message": "space_sync_started"' in log_file.read_text()
