"""One running system for the e2e tests (`tests/support/system.py`): Chroma, the four functions, the Pub/Sub
emulator pushing questions to `slack_answer`, fake-gcs-server, and the jobs run as `python -m jobs.NAME`;
Confluence and Slack are HTTP stand-ins. Starting it takes about a minute, so the package shares one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.confluence_standin import ConfluenceStandin
from tests.support.gcs_server import GcsServer
from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.sample_space import IT_SECTION, load_into_confluence
from tests.support.slack_standin import SlackStandin
from tests.support.system import ASKER, OWNERS, System


@pytest.fixture(scope="package")
def confluence() -> Iterator[ConfluenceStandin]:
    with ConfluenceStandin() as standin:
        yield standin


@pytest.fixture(scope="package")
def pages(confluence: ConfluenceStandin) -> dict[str, str]:
    return load_into_confluence(confluence, only=IT_SECTION)


@pytest.fixture(scope="package")
def slack_api() -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        standin.add_user(ASKER, "asker@larkspur.example", "asker")
        for email, user_id in OWNERS.items():
            standin.add_user(user_id, email)
        yield standin


@pytest.fixture(scope="package")
def system(
    tmp_path_factory: pytest.TempPathFactory,
    pubsub_emulator: PubSubEmulator,
    gcs_server: GcsServer,
    confluence: ConfluenceStandin,
    pages: dict[str, str],
    slack_api: SlackStandin,
) -> Iterator[System]:
    root = tmp_path_factory.mktemp("whole-system")
    with System(
        root, pubsub=pubsub_emulator, gcs=gcs_server, confluence=confluence, slack=slack_api
    ) as system:
        first = system.run_job("confluence_sync")
        assert first.status == 0, first.output
        assert system.search("warm up").status_code == 200  # loads the model before any test times itself
        yield system
