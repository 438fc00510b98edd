"""The weekly gap digest: each owner of a topic's nearest space hears of their topics in one DM, and the
knowledge admins' channel gets every topic (`common.analytics.gaps`).

- Once per ISO week: an owner's DM is claimed under `gaps/<week>/<owner>` and the admin message under
  `gaps/<week>/admin` (`common.infra.claims`), so a re-run, or two runs at once, send nothing twice. A DM
  Slack refuses releases its claim and is counted as failed, so the job exits retryable and the next run
  sends only what is still missing.
- Owners are found on Slack by email, as owner notices find them; one who cannot be found is reported like
  there (a warning and an `owner_unreachable` event, with no page) once that week, never retried.
- Nothing asked in a direct message is shown: topics carry channel samples only and say how many more
  were asked privately. Sample questions are people's own words, so they are escaped before Slack reads
  them (no mention or link can be smuggled in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from common.errors import SlackUnavailable, SlackUserNotFound
from common.events.model import OwnerUnreachable
from common.events.publishers import EventPublisher
from common.infra.claims import Claim, Claims
from common.logs import get_logger
from common.slack.admin_channel import AdminChannel
from common.slack.answer_blocks import escape_mrkdwn
from common.slack.client import slack_user_id

if TYPE_CHECKING:
    from common.analytics.gaps import GapTopic

log = get_logger(__name__)

MAX_TOPICS_SHOWN = 20
"""Slack allows 50 blocks a message; more topics than this are left to `kb gaps`."""
REASON_WORDS = {
    "declined": "declined",
    "negative_feedback": "rated negatively",
    "frustration": "followed by frustration",
}


@dataclass(slots=True)
class DigestSummary:
    week: str
    topics: int
    owners_sent: list[str] = field(default_factory=list)
    owners_already_sent: list[str] = field(default_factory=list)
    owners_unreachable: list[str] = field(default_factory=list)
    owners_failed: list[str] = field(default_factory=list)
    """DMs Slack refused this run: sent by the next one."""
    admin: str = "not_needed"
    """`posted`, `already_posted`, `failed` (sent by the next run), `not_configured` (no
    KNOWLEDGE_ADMIN_CHANNEL) or `not_needed` (no topics)."""

    @property
    def complete(self) -> bool:
        """Whether everything this week's digest should send has been sent."""
        return not self.owners_failed and self.admin != "failed"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class GapDigest:
    def __init__(
        self,
        *,
        slack: WebClient,
        claims: Claims,
        admin: AdminChannel | None,
        publisher: EventPublisher,
    ) -> None:
        self._slack = slack
        self._claims = claims
        self._admin = admin
        self._publisher = publisher

    def send(self, topics: Sequence[GapTopic], *, week: str) -> DigestSummary:
        """`week` is the ISO week the digest is for, e.g. "2026-W49"."""
        summary = DigestSummary(week=week, topics=len(topics))
        if not topics:
            return summary
        by_owner: dict[str, list[GapTopic]] = {}
        for topic in topics:
            for owner in topic.owners:
                by_owner.setdefault(owner.lower(), []).append(topic)
        for owner, owned in sorted(by_owner.items()):
            self._send_owner(owner, owned, week, summary)
        if self._admin is None:
            log.warning("gap_digest_without_admin_channel", week=week, topics=len(topics))
            summary.admin = "not_configured"
            return summary
        text = f"{_count(len(topics), 'topic')} people did not get a good answer to, week {week}"
        try:
            posted = self._admin.post_once(
                f"gaps/{week}/admin", text=text, blocks=digest_blocks(topics, week)
            )
        except SlackUnavailable as exc:
            log.error("gap_digest_not_sent_yet", channel=self._admin.channel, week=week, error=str(exc))
            summary.admin = "failed"
            return summary
        summary.admin = "posted" if posted is not None else "already_posted"
        return summary

    def _send_owner(self, owner: str, topics: list[GapTopic], week: str, summary: DigestSummary) -> None:
        key = f"gaps/{week}/{owner}"
        if self._claims.claim(key) is not Claim.TAKEN:
            summary.owners_already_sent.append(owner)
            return
        try:
            user_id = slack_user_id(self._slack, owner)
            self._slack.chat_postMessage(
                channel=user_id,
                text=f"{_count(len(topics), 'topic')} near your pages people did not get a good answer to",
                blocks=digest_blocks(topics, week, for_owner=True),
                unfurl_links=False,
            )
        except SlackUserNotFound as exc:
            self._claims.complete(key)  # no run can reach them this week: report it once
            log.warning("owner_unreachable", owner=owner, reason="gap_digest", error=str(exc))
            self._publisher.publish(
                [OwnerUnreachable(owner=owner, page_id="", reason=f"gap_digest {week}", error=str(exc))]
            )
            summary.owners_unreachable.append(owner)
            return
        except SlackClientError as exc:
            self._claims.release(key)
            log.error("gap_digest_not_sent_yet", owner=owner, week=week, error=str(exc))
            summary.owners_failed.append(owner)
            return
        self._claims.complete(key)
        summary.owners_sent.append(owner)


def week_of(moment: datetime) -> str:
    """The ISO week a digest sent at `moment` (UTC) is for, e.g. "2026-W49"."""
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def digest_blocks(topics: Sequence[GapTopic], week: str, *, for_owner: bool = False) -> list[dict[str, Any]]:
    """An owner's message names the space of each topic; the admins' also who it went to."""
    lead = (
        "People asked about these topics near your pages and did not get a good answer"
        if for_owner
        else "Topics people did not get a good answer to"
    )
    blocks: list[dict[str, Any]] = [
        _section(
            f"*{lead}, week {week}.*\nQuestions the knowledge base declined, that were rated negatively or "
            "that left people frustrated, grouped by topic. A page on one of these would answer them."
        )
    ]
    blocks += [_section(_topic_text(topic, for_owner=for_owner)) for topic in topics[:MAX_TOPICS_SHOWN]]
    if len(topics) > MAX_TOPICS_SHOWN:
        more = len(topics) - MAX_TOPICS_SHOWN
        blocks.append(_section(f"_{more} more: run `kb gaps` to see every topic._"))
    return blocks


def _topic_text(topic: GapTopic, *, for_owner: bool) -> str:
    why = ", ".join(f"{count} {REASON_WORDS[reason]}" for reason, count in topic.reasons.items())
    where = f"nearest space {topic.space_key}" if topic.space_key else "no space comes close"
    lines = [
        f"*{escape_mrkdwn(topic.title)}* (suggested page title)",
        f"{topic.size} questions: {why} · {where}",
    ]
    if not for_owner:
        lines.append(f"Owners: {', '.join(topic.owners)}" if topic.owners else "No owner found")
    lines += [f"> {escape_mrkdwn(' '.join(sample.split()))}" for sample in topic.samples]
    if topic.direct_messages:
        lines.append(f"_{topic.direct_messages} more asked in direct messages, not shown._")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
