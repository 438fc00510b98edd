"""The whole product on one machine, as it runs in the cloud, for end-to-end tests.

Real processes: a `chroma run` server of its own (tests kill and restart it), the four function targets under
functions-framework on local ports, and the jobs run as `python -m jobs.NAME`; the Pub/Sub emulator and
fake-gcs-server are shared with the rest of the session. Confluence and the Slack Web API, which cannot run
here, are HTTP stand-ins in the test process. Every process gets its settings only from the environment this
class builds, the way Cloud Run passes them, and Pub/Sub pushes questions to `slack_answer` as it would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx

from common.config import Settings, load_settings
from common.runtime.store import build_store
from common.store.chunk_store import ChunkStore
from tests.support.chroma_server import ChromaServer
from tests.support.confluence_standin import ConfluenceStandin
from tests.support.function_service import FunctionService, isolated_environment
from tests.support.gcs_server import GcsServer
from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.slack_signing import form_body, sign
from tests.support.slack_standin import SlackStandin

PROJECT = "kb-e2e"
SIGNING_SECRET = "e2e-signing-secret"
TARGETS = ("search", "slack_events", "slack_actions", "slack_answer")
DEPLOYED_ENV = {"search": {"WORKERS": "2"}}
"""What terraform/main.tf sets for a service beyond the settings: the search service's two workers."""
JOB_TIMEOUT_SECONDS = 300.0
PERMISSION_TTL_SECONDS = 2
"""Short, so a test sees a group change reach answers after the TTL without waiting long."""
ASKER = "W222"
"""The Slack user who asks the questions."""
OWNERS = {"priya.raman@larkspur.example": "UPRIYA", "tom.okafor@larkspur.example": "UTOM"}
"""Slack ids of sample-space page owners, so their notices land in their DMs."""


@dataclass(frozen=True)
class JobRun:
    status: int
    logs: list[dict[str, Any]]
    """The job's JSON log lines, in order."""
    output: str

    def finished(self, job: str) -> dict[str, Any]:
        """The summary the job logged at its end."""
        [summary] = [line for line in self.logs if line.get("message") == f"{job}_finished"]
        return summary


class System:
    def __init__(
        self,
        root: Path,
        *,
        pubsub: PubSubEmulator,
        gcs: GcsServer,
        confluence: ConfluenceStandin,
        slack: SlackStandin,
        space_key: str = "HB",
    ) -> None:
        self.root = root
        self.pubsub = pubsub
        self.confluence = confluence
        self.slack = slack
        self.chroma = ChromaServer(root / "chroma")
        suffix = uuid.uuid4().hex[:8]
        self.questions_topic = f"kb-questions-{suffix}"
        self.analytics_topic = f"kb-analytics-{suffix}"
        self.dead_letter_topic = f"kb-analytics-dead-{suffix}"
        self.bucket = gcs.create_bucket(f"kb-e2e-{suffix}")
        self.env = {
            "KB_HOME": str(root / "kb-home"),
            "CHROMA_URL": self.chroma.url,
            "GCS_BUCKET": self.bucket,
            "GCS_ENDPOINT": gcs.url,
            "GCP_PROJECT": PROJECT,
            "PUBSUB_ENDPOINT": pubsub.host,
            "QUESTIONS_TOPIC": self.questions_topic,
            "ANALYTICS_TOPIC": self.analytics_topic,
            "ANALYTICS_SUBSCRIPTION": f"{self.analytics_topic}-ingest",
            "ANALYTICS_DEAD_LETTER_TOPIC": self.dead_letter_topic,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": "xoxb-e2e",
            "SLACK_API_URL": slack.api_url,
            "CONFLUENCE_URL": confluence.url,
            "CONFLUENCE_USER": confluence.user or "",
            "CONFLUENCE_API_TOKEN": confluence.token,
            "CONFLUENCE_SPACES": space_key,
            "CONFLUENCE_TIMEOUT_SECONDS": "2",
            "CONFLUENCE_MAX_RETRIES": "3",
            "KEYWORD_REFRESH_SECONDS": "1",
            "CONFLUENCE_PERMISSION_TTL_SECONDS": str(PERMISSION_TTL_SECONDS),
            "LOG_FORMAT": "json",
        }
        self.functions = {
            target: FunctionService(target, self.env | DEPLOYED_ENV.get(target, {}), log_dir=root / "logs")
            for target in TARGETS
        }

    def start(self) -> Self:
        self.chroma.start()
        for topic in (self.questions_topic, self.analytics_topic, self.dead_letter_topic):
            self.pubsub.create_topic(PROJECT, topic)
        self.pubsub.create_pull_subscription(
            PROJECT, self.analytics_topic, self.env["ANALYTICS_SUBSCRIPTION"]
        )
        for function in self.functions.values():
            function.start()
        self.pubsub.create_push_subscription(
            PROJECT,
            self.questions_topic,
            f"{self.questions_topic}-answer",
            f"{self.functions['slack_answer'].url}/",
        )
        return self

    def stop(self) -> None:
        for function in self.functions.values():
            function.stop()
        self.chroma.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- what people and schedulers do --------------------------------------------------------------

    def run_job(self, job: str, **env: str) -> JobRun:
        """`python -m jobs.<job>` as Cloud Run runs it, after the scheduler fires."""
        done = subprocess.run(
            [sys.executable, "-m", f"jobs.{job}"],
            env=isolated_environment(self.env | env),
            capture_output=True,
            text=True,
            timeout=JOB_TIMEOUT_SECONDS,
            check=False,
        )
        output = done.stdout + done.stderr
        return JobRun(done.returncode, _json_lines(output), output)

    def kb(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The `kb` command an operator runs against the deployment."""
        return subprocess.run(
            [str(Path(sys.executable).with_name("kb")), *args],
            env=isolated_environment(self.env),
            capture_output=True,
            text=True,
            timeout=JOB_TIMEOUT_SECONDS,
            check=False,
        )

    def search(self, query: str, *, top_k: int = 5, timeout: float = 60.0) -> httpx.Response:
        return httpx.post(
            f"{self.functions['search'].url}/", json={"query": query, "top_k": top_k}, timeout=timeout
        )

    def send_event(self, payload: dict[str, Any], **headers: str) -> httpx.Response:
        """Slack delivering an Events API callback."""
        body = json.dumps(payload).encode()
        return httpx.post(
            f"{self.functions['slack_events'].url}/",
            content=body,
            headers={"Content-Type": "application/json", **sign(body, secret=SIGNING_SECRET), **headers},
            timeout=10.0,
        )

    def interact(self, payload: dict[str, Any] | bytes, *, url: str | None = None) -> httpx.Response:
        """Slack delivering a click, a modal submission or a slash command (to `url`, if another
        `slack_actions` than the system's should get it)."""
        body = payload if isinstance(payload, bytes) else form_body(payload)
        return httpx.post(
            f"{url or self.functions['slack_actions'].url}/",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                **sign(body, secret=SIGNING_SECRET),
            },
            timeout=30.0,
        )

    # --- looking inside -----------------------------------------------------------------------------

    def analytics_query(self, sql: str) -> list[dict[str, Any]]:
        """`kb analytics query SQL --json` against the deployment's analytics files."""
        done = self.kb("analytics", "query", sql, "--json")
        assert done.returncode == 0, done.stderr
        rows: list[dict[str, Any]] = json.loads(done.stdout)
        return rows

    def ingest_until(self, sql: str, *, attempts: int = 10) -> list[dict[str, Any]]:
        """Functions send events from a background thread about once a second, so the first ingest may run
        before the last event is on the topic; ingest again until `sql` returns rows (bounded)."""
        for _ in range(attempts):
            run = self.run_job("analytics_ingest")
            assert run.status == 0, run.output
            rows = self.analytics_query(sql)
            if rows:
                return rows
        raise AssertionError(f"no rows for {sql!r} after {attempts} ingest runs")

    @property
    def settings(self) -> Settings:
        return load_settings(kb_home=Path(self.env["KB_HOME"]) / "inspector", chroma_url=self.chroma.url)

    def store(self) -> ChunkStore:
        return build_store(self.settings)

    def function_logs(self, target: str) -> list[dict[str, Any]]:
        return _json_lines(self.functions[target].log_path.read_text(errors="replace"))


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return lines
