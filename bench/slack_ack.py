"""How fast the events webhook answers Slack, and how long a question takes to get its answer.

    python bench/slack_ack.py [--warm 200] [--questions 10] [--json]

- Cold: `functions-framework --target slack_events` in a new process (as a new Cloud Run instance), the time
  until it accepts connections, then the first signed `app_mention`'s round trip (which builds the webhook
  and its Pub/Sub publisher). Target < 1 s.
- Warm: `--warm` more events to the same process; p50/p95. Target p95 < 50 ms.
- Event to answer: the webhook publishes to the Pub/Sub emulator, whose push subscription delivers to the
  `slack_answer` function (served over HTTP, offline answer writer, the sample space in embedded Chroma);
  timed until the answer reaches a Slack Web API stand-in. The first question warms the model and is left out.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx
import numpy as np
from functions_framework import create_app
from rich.console import Console
from rich.table import Table

from common.config import SAMPLE_SPACE_DIR, get_settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.logs import configure_logging
from tests.e2e.test_slack_bot_flow import _Worker
from tests.support.local_service import free_port
from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.runs import run_sync
from tests.support.slack_signing import sign
from tests.support.slack_standin import SlackStandin

SECRET = "bench-secret"
PROJECT = "kb-bench"
QUESTIONS = [
    "How do I connect to the VPN from home?",
    "How many weeks of parental leave do I get?",
    "How do I reset my password and MFA?",
    "What is the expense limit for a team dinner?",
    "How do I book business travel?",
]


def mention(n: int, text: str) -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T111",
            "api_app_id": "A111",
            "event_id": f"EvBench{n}-{uuid.uuid4().hex[:6]}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_mention",
                "user": "W222",
                "text": f"<@W111> {text}",
                "ts": f"{1700000000 + n}.000100",
                "channel": "C111",
                "event_ts": f"{1700000000 + n}.000100",
            },
            "authorizations": [{"team_id": "T111", "user_id": "W111", "is_bot": True}],
        }
    ).encode()


def post(client: httpx.Client, url: str, body: bytes) -> float:
    headers = {"Content-Type": "application/json", **sign(body, secret=SECRET)}
    started = time.perf_counter()
    response = client.post(url, content=body, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"the webhook answered {response.status_code}: {response.text}")
    return elapsed


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"functions-framework exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.005)
    raise SystemExit("functions-framework did not start within 60 s")


def time_webhook(env: dict[str, str], warm: int) -> tuple[float, float, list[float]]:
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("functions-framework")),
            "--source",
            str(REPO / "functions" / "main.py"),
            "--target",
            "slack_events",
            "--port",
            str(port),
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, process)
        ready_ms = (time.perf_counter() - started) * 1000
        with httpx.Client(timeout=10) as client:
            url = f"http://127.0.0.1:{port}/"
            cold = post(client, url, mention(0, QUESTIONS[0]))
            warm_times = [
                post(client, url, mention(n, QUESTIONS[n % len(QUESTIONS)])) for n in range(1, warm + 1)
            ]
    finally:
        process.terminate()
        process.wait(timeout=10)
    return ready_ms, cold, warm_times


def time_answers(
    env: dict[str, str], questions: int, emulator: PubSubEmulator, slack: SlackStandin
) -> list[float]:
    os.environ.update(env)
    get_settings.cache_clear()
    topic = env["QUESTIONS_TOPIC"]
    with _Worker() as worker:
        emulator.create_push_subscription(PROJECT, topic, f"{topic}-push", worker.url)
        events = create_app(target="slack_events", source=str(REPO / "functions" / "main.py")).test_client()
        times = []
        for n in range(questions + 1):
            body = mention(1000 + n, QUESTIONS[n % len(QUESTIONS)])
            started = time.perf_counter()
            events.post(
                "/", data=body, headers={"Content-Type": "application/json", **sign(body, secret=SECRET)}
            )
            slack.wait_for("chat.postMessage", count=n + 1, timeout=120)
            if n:
                times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging(log_format="console", level="WARNING")
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="kb-bench-slack-") as scratch:
        work = Path(scratch)
        emulator = PubSubEmulator(work / "pubsub").start()
        try:
            topic = f"kb-questions-{uuid.uuid4().hex[:8]}"
            emulator.create_topic(PROJECT, topic)
            home = work / "kb-home"
            console.print("Syncing the sample space…")
            run_sync(load_settings(kb_home=home), source=FolderPageSource(SAMPLE_SPACE_DIR))
            with SlackStandin() as slack:
                env = {
                    "KB_HOME": str(home),
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_BOT_TOKEN": "xoxb-bench",
                    "SLACK_API_URL": slack.api_url,
                    "GCP_PROJECT": PROJECT,
                    "PUBSUB_ENDPOINT": emulator.host,
                    "QUESTIONS_TOPIC": topic,
                    "LOG_LEVEL": "WARNING",
                }
                console.print("Timing the webhook…")
                ready_ms, cold_ms, warm = time_webhook(env, args.warm)
                console.print("Timing event → answer…")
                answers = time_answers({**env, "QUESTIONS_TOPIC": topic}, args.questions, emulator, slack)
        finally:
            emulator.stop()
    result = {
        "cold_ack_ms": round(cold_ms, 1),
        "cold_start_to_listening_ms": round(ready_ms, 1),
        "warm_ack_p50_ms": round(float(np.percentile(warm, 50)), 1),
        "warm_ack_p95_ms": round(float(np.percentile(warm, 95)), 1),
        "event_to_answer_ms": round(float(np.median(answers)), 1),
        "event_to_answer_p95_ms": round(float(np.percentile(answers, 95)), 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    table = Table(title="Slack webhook acknowledgement and event → answer")
    table.add_column("measure")
    table.add_column("ms", justify="right")
    table.add_row("new process until listening", f"{result['cold_start_to_listening_ms']}")
    table.add_row("cold: first request  \\[target < 1000]", f"{result['cold_ack_ms']}")
    table.add_row("warm p50", f"{result['warm_ack_p50_ms']}")
    table.add_row("warm p95  \\[target < 50]", f"{result['warm_ack_p95_ms']}")
    table.add_row("event → answer posted, median (offline writer)", f"{result['event_to_answer_ms']}")
    table.add_row("event → answer posted, p95", f"{result['event_to_answer_p95_ms']}")
    Console().print(table)


if __name__ == "__main__":
    main()
