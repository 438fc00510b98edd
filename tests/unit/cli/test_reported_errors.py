"""How a `kb` command's typed error reaches the person who ran it: one line they can act on and copy from."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from common.cli.support import reports_errors
from common.errors import KbError


def _failing(message: str) -> click.Command:
    @click.command()
    @reports_errors
    def command() -> None:
        raise KbError(message)

    return command


def test_a_long_path_in_an_error_is_printed_whole_on_one_line() -> None:
    path = "/tmp/" + "/".join(["a-rather-long-folder-name"] * 8) + "/qrels.tsv"

    result = CliRunner().invoke(_failing(f"{path}:2 should have three columns."))

    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}:2 should have three columns.\n"


@pytest.mark.parametrize("text", ["[red]", "[/]", "[bold]x[/bold]", "\\[link]"])
def test_brackets_in_an_error_are_printed_as_written(text: str) -> None:
    result = CliRunner().invoke(_failing(f"Field {text} is unknown."))

    assert result.stderr == f"Error: Field {text} is unknown.\n"
