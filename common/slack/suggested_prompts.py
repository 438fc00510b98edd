"""A new conversation in Slack's assistant view opens with suggested prompts: questions the knowledge base
answers, one click away, so nobody faces an empty box wondering what the bot knows.

The events webhook calls this before acknowledging Slack, which wants an answer within 3 seconds: one
`assistant.threads.setSuggestedPrompts` call on a client that never waits out a rate limit, and a refusal is
only logged (the thread works without prompts; a retried event would set them again, harmlessly).
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from common.logs import get_logger
from common.slack.questions import AssistantThreadStarted

log = get_logger(__name__)

TITLE = "Ask the knowledge base"


class SuggestedPrompts:
    def __init__(self, *, slack: WebClient, prompts: Sequence[str]) -> None:
        """`prompts`: up to four questions (`SLACK_SUGGESTED_PROMPTS`), each sent as written when clicked."""
        self._slack = slack
        self._prompts = [{"title": prompt, "message": prompt} for prompt in prompts]

    def thread_started(self, thread: AssistantThreadStarted) -> None:
        if not self._prompts:
            log.info("assistant_thread_without_prompts", channel=thread.channel)
            return
        try:
            self._slack.assistant_threads_setSuggestedPrompts(
                channel_id=thread.channel, thread_ts=thread.thread_ts, title=TITLE, prompts=self._prompts
            )
        except SlackClientError as exc:
            log.warning("suggested_prompts_not_set", channel=thread.channel, error=str(exc))
            return
        log.info("suggested_prompts_set", channel=thread.channel, prompts=len(self._prompts))
