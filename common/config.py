"""All settings, in one typed object read from the environment.

Precedence, highest first: values passed to `Settings(...)` explicitly (tests, CLI flags), then environment
variables (names are the field names in upper case), then the defaults below. Nothing else is consulted: no
config files, so what a Cloud Run service does is exactly what its environment says. The README's settings
table mirrors this class; keep them together.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SPACE_DIR = REPO_ROOT / "examples" / "sample-space"
DEFAULT_LLM_MODELS = {"openai": "gpt-4o-mini", "vertex": "gemini-2.5-flash"}
DEFAULT_SUGGESTED_PROMPTS = (
    "How do I connect to the VPN from home?|How do I reset my password?"
    "|How do I submit an expense claim?|How much parental leave do I get?"
)
"""Questions most companies' Confluence answers (and the bundled sample space does); set your own."""
MAX_SUGGESTED_PROMPTS = 4
"""Slack shows at most four suggested prompts in an assistant thread."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    kb_home: Path = Field(Path(".kb"), description="Where embedded state lives (Chroma, spool, DuckDB).")

    chroma_url: str | None = Field(None, description="Chroma server URL; unset uses an embedded store.")
    chroma_collection: str = Field(
        "knowledge_base", min_length=3, max_length=52, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$"
    )
    chroma_auth_token: SecretStr | None = Field(None, description="Sent as `Authorization: Bearer`.")
    chroma_api_key: SecretStr | None = Field(
        None,
        description="Chroma Cloud's API key, sent as `x-chroma-token` (distributed Chroma, Chroma Cloud).",
    )
    chroma_tenant: str = Field("default_tenant", min_length=1, description="The tenant the collection is in.")
    chroma_database: str = Field("default_database", min_length=1, description="The database within it.")
    chroma_timeout_seconds: float = Field(10.0, gt=0)
    chroma_retries: int = Field(3, ge=0, le=10, description="Retries on transport errors only.")
    chroma_breaker_failures: int = Field(5, ge=1, description="Consecutive failures that open the breaker.")
    chroma_breaker_reset_seconds: float = Field(30.0, gt=0, description="How long the breaker stays open.")
    chroma_hnsw_ef_search: int = Field(200, ge=10, description="Higher = closer to exact search.")

    embedding_model_path: Path | None = Field(
        None, description="A sentence-transformers model folder; unset uses the bundled all-MiniLM-L6-v2."
    )
    embedding_batch_size: int = Field(64, ge=1, le=1024)
    embedding_device: str = Field("cpu")
    embedding_threads: int | None = Field(
        None, ge=1, le=64, description="torch threads for the process; 1 for servers, unset for batch jobs."
    )
    chunk_max_tokens: int = Field(256, ge=32, le=256, description="Word pieces per chunk incl. its prefix.")

    confluence_url: str | None = Field(None, description="e.g. https://acme.atlassian.net/wiki")
    confluence_user: str | None = Field(None, description="Account email (Cloud); unset with a token = PAT.")
    confluence_api_token: SecretStr | None = None
    confluence_spaces: str = Field("", description="Comma-separated space keys to sync.")
    confluence_timeout_seconds: float = Field(30.0, gt=0)
    confluence_max_retries: int = Field(5, ge=0, le=20)
    confluence_max_retry_after_seconds: float = Field(120.0, gt=0)
    confluence_sync_overlap_minutes: int = Field(60, ge=0, description="CQL lastmodified look-back.")
    confluence_page_limit: int = Field(50, ge=1, le=250, description="Results per CQL request.")
    confluence_everyone_groups: str = Field(
        "confluence-users",
        description="Groups all site members are in: a space they may view is open.",
    )
    confluence_permission_ttl_seconds: float = Field(
        900.0, gt=0, description="How long group memberships and checked links are trusted before re-reading."
    )
    confluence_link_key: SecretStr | None = Field(
        None, description="Fernet key that encrypts linked users' tokens and signs OAuth states."
    )
    confluence_oauth_client_id: str | None = Field(None, description="Atlassian OAuth 2.0 (3LO) app (Cloud).")
    confluence_oauth_client_secret: SecretStr | None = None
    confluence_oauth_redirect_url: str | None = Field(
        None, description="The confluence_oauth function's URL, as registered in the Atlassian app."
    )
    atlassian_auth_url: str = Field(
        "https://auth.atlassian.com", description="Authorize and token endpoints."
    )
    atlassian_api_url: str = Field(
        "https://api.atlassian.com", description="Accessible resources, site APIs."
    )
    sample_space_dir: Path = Field(SAMPLE_SPACE_DIR)
    default_classification: Literal["public", "internal", "confidential"] = Field(
        "internal", description="For pages with no classification label."
    )

    search_api_key: SecretStr | None = Field(
        None, description="When set, search requires it as a Bearer token."
    )
    search_as_user_api_key: SecretStr | None = Field(
        None, description="The only key with which a search may ask `as_user` (someone's own access)."
    )
    search_alpha: float = Field(0.5, ge=0.0, le=1.0, description="Dense share of the fused relevance score.")
    search_candidates: int = Field(100, ge=10, le=1000, description="Candidates taken from each retriever.")
    search_max_per_page: int = Field(3, ge=1, description="Most chunks of one page in a result list.")
    search_cache_chunks: int = Field(
        20_000, ge=0, description="Candidates a search instance keeps, re-read only when changed (0: none)."
    )
    search_cache_seconds: float = Field(
        120.0, ge=0.0, description="Age at which a kept candidate is read again in full."
    )
    search_quality_min: float = Field(0.75, gt=0.0, le=1.0, description="Multiplier at quality_score 0.")
    search_quality_max: float = Field(1.25, ge=1.0, le=2.0, description="Multiplier at quality_score 100.")
    search_freshness_max_bonus: float = Field(0.10, ge=0.0, le=0.5)
    search_freshness_half_life_days: float = Field(180.0, gt=0.0)
    search_verified_bonus: float = Field(0.05, ge=0.0, le=0.5)
    review_interval_days: float = Field(90.0, gt=0.0, description="A review older than this lapses.")
    quality_vote_helpful: float = Field(6.0, ge=0.0, le=50.0, description="Points a helpful vote adds.")
    quality_vote_not_helpful: float = Field(6.0, ge=0.0, le=50.0, description="Points it takes away.")
    quality_vote_outdated: float = Field(12.0, ge=0.0, le=50.0, description="Points it takes away.")
    quality_vote_incorrect: float = Field(18.0, ge=0.0, le=50.0, description="Points it takes away.")
    quality_decay_floor: float = Field(20.0, ge=0.0, le=100.0, description="Decay never goes below this.")
    quality_decay_half_life_days: float = Field(30.0, gt=0.0, description="Overdue days that halve the gap.")
    quality_alert_threshold: float = Field(30.0, ge=0.0, le=100.0, description="Owners hear below this.")
    keyword_refresh_seconds: float = Field(60.0, ge=0.0, description="Seconds between checks for new chunks.")

    knowledge_admin_channel: str | None = Field(
        None, description="Slack channel id of the knowledge admins: escalations, evaluation alerts, gaps."
    )
    obsolete_after_days: int = Field(730, ge=1, description="A page not updated this long may be obsolete.")
    obsolete_min_shown: int = Field(
        10, ge=1, description="Times shown with no source click that mark a page as possibly obsolete."
    )
    escalation_negative_reports: int = Field(
        3, ge=1, description="Negative reports on one page within the window that reach the admins."
    )
    escalation_window_hours: float = Field(24.0, gt=0, description="The window those reports count in.")
    signal_rephrase_minutes: float = Field(
        10.0, gt=0, description="A similar question from the same person this soon rephrases the last one."
    )
    signal_rephrase_similarity: float = Field(
        0.6, gt=0.0, lt=1.0, description="Cosine similarity above which two questions are one rephrased."
    )
    golden_questions: Path | None = Field(
        None, description="A golden-questions JSONL file the nightly evaluation also runs."
    )
    eval_day: date | None = Field(
        None, description="The day the nightly evaluation judges (re-running a missed day); unset: yesterday."
    )
    eval_sample_size: int = Field(
        50, ge=1, le=1000, description="Answers of yesterday the nightly job re-runs."
    )
    eval_target_groundedness: float = Field(0.7, ge=0.0, le=1.0)
    eval_target_relevance: float = Field(0.5, ge=0.0, le=1.0)
    eval_target_completeness: float = Field(0.5, ge=0.0, le=1.0)
    eval_target_golden_hit_at_3: float = Field(0.8, ge=0.0, le=1.0)
    eval_max_weekly_drop: float = Field(
        0.10, gt=0.0, lt=1.0, description="A metric falling by more than this share week on week alerts."
    )
    gap_min_questions: int = Field(3, ge=2, description="Questions a gap topic needs before it is reported.")
    gap_similarity: float = Field(
        0.55, gt=0.0, lt=1.0, description="Cosine similarity at which two questions share a gap topic."
    )

    slack_bot_token: SecretStr | None = Field(None, description="xoxb- token of the Slack app.")
    slack_signing_secret: SecretStr | None = Field(None, description="Verifies requests from Slack.")
    slack_api_url: str = Field(
        "https://slack.com/api/", description="Slack Web API base (a stand-in in tests)."
    )
    slack_channels: str = Field("", description="Channel ids the bot answers in; empty = all it is in.")
    slack_channel_max_classification: Literal["public", "internal"] = Field(
        "internal", description="Ceiling in public channels (never confidential)."
    )
    slack_private_max_classification: Literal["public", "internal", "confidential"] = "internal"
    slack_dm_max_classification: Literal["public", "internal", "confidential"] = "internal"
    slack_knowledge_space: str = Field("SLACK", description="Default space of knowledge saved from Slack.")
    slack_stream_answers: bool = Field(
        True,
        description="With an LLM, stream answers into the thread as they are written (chat.startStream).",
    )
    slack_stream_buffer_chars: int = Field(
        256, ge=1, le=12_000, description="Characters gathered before each chat.appendStream call."
    )
    slack_suggested_prompts: str = Field(
        DEFAULT_SUGGESTED_PROMPTS,
        description="Up to four questions, separated by |, offered in each new assistant-view thread.",
    )
    doc_review_reminder_days: float = Field(
        3.0, gt=0, description="Approvers who have not decided on a document this long are reminded."
    )
    doc_required_approvals: int = Field(
        1, ge=1, le=5, description="Approvals a policy or procedure version needs before it is published."
    )
    doc_link_base: str = Field(
        "http://localhost:8080/documents",
        description="Where documents published without Confluence are linked (`kb serve` shows them).",
    )
    questions_topic: str = Field("kb-questions", description="Pub/Sub topic the webhook hands questions to.")
    answer_claim_lease_seconds: float = Field(
        120.0, gt=0, description="A claimed question not answered in this long is answered by a redelivery."
    )
    analytics_user_salt: SecretStr | None = Field(
        None, description="When set, user ids in analytics events are salted hashes, not Slack ids."
    )
    analytics_topic: str = Field("kb-analytics", description="Pub/Sub topic every analytics event goes to.")
    analytics_subscription: str = Field("kb-analytics-ingest", description="What the ingest job pulls from.")
    analytics_dead_letter_topic: str = Field("kb-analytics-dead-letter", description="Unusable messages.")
    analytics_parts_per_compaction: int = Field(
        10, ge=2, le=1000, description="Part files of one level a month gathers before ingest merges them."
    )
    pubsub_endpoint: str | None = Field(None, description="host:port of a Pub/Sub emulator; unset = Google.")

    gcs_bucket: str | None = Field(
        None, description="Bucket for the keyword index and analytics files; unset keeps them in KB_HOME."
    )
    gcs_endpoint: str | None = Field(None, description="Storage API endpoint (an emulator); unset = Google.")
    backup_location: str | None = Field(
        None,
        description="Folder or gs://bucket/prefix for backups; unset = gs://GCS_BUCKET/backups or KB_HOME.",
    )
    gcp_project: str | None = Field(None, description="Project for Google clients; unset = from credentials.")

    llm_api_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. https://host/v1.")
    llm_api_key: SecretStr | None = None
    llm_model: str | None = Field(
        None, description="Model name; unset: gpt-4o-mini (openai) or gemini-2.5-flash (vertex)."
    )
    llm_provider: Literal["openai", "vertex"] = Field(
        "openai", description="openai: any OpenAI-compatible API at LLM_API_URL; vertex: Gemini on Vertex AI."
    )
    vertex_location: str = Field("us-central1", min_length=1, description="Vertex AI region for Gemini.")
    vertex_api_url: str | None = Field(
        None, description="Vertex AI endpoint, only for a stand-in: requests then go without credentials."
    )
    llm_timeout_seconds: float = Field(30.0, gt=0)

    cloud_run_task_index: int = Field(0, ge=0, description="Set by Cloud Run for each task of a job.")
    cloud_run_task_count: int = Field(1, ge=1, description="Set by Cloud Run: tasks in the job execution.")

    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator(
        "chroma_url",
        "confluence_url",
        "llm_api_url",
        "gcs_endpoint",
        "atlassian_auth_url",
        "atlassian_api_url",
        "vertex_api_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL with a host, got {value!r}")
        return value.rstrip("/")

    @property
    def llm_configured(self) -> bool:
        """Whether answers, AI metadata, drafts and the judge use an LLM (else the offline defaults)."""
        return self.llm_provider == "vertex" or self.llm_api_url is not None

    @property
    def llm_model_name(self) -> str:
        return self.llm_model or DEFAULT_LLM_MODELS[self.llm_provider]

    @property
    def space_keys(self) -> list[str]:
        return [key.strip() for key in self.confluence_spaces.split(",") if key.strip()]

    @property
    def everyone_groups(self) -> list[str]:
        return [name.strip() for name in self.confluence_everyone_groups.split(",") if name.strip()]

    @field_validator("slack_suggested_prompts")
    @classmethod
    def _at_most_four_prompts(cls, value: str) -> str:
        if len(_pipe_separated(value)) > MAX_SUGGESTED_PROMPTS:
            raise ValueError(f"Slack shows at most {MAX_SUGGESTED_PROMPTS} suggested prompts, separated by |")
        return value

    @property
    def suggested_prompts(self) -> list[str]:
        return _pipe_separated(self.slack_suggested_prompts)

    @property
    def slack_channel_ids(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.slack_channels.split(",") if c.strip())

    @property
    def backup_root(self) -> str:
        if self.backup_location:
            return self.backup_location.rstrip("/")
        if self.gcs_bucket:
            return f"gs://{self.gcs_bucket}/backups"
        return str(self.kb_home / "backups")

    @property
    def chroma_dir(self) -> Path:
        return self.kb_home / "chroma"


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into one that names the environment variables to fix."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"Invalid settings ({problems}). Fix these environment variables.") from exc


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call `get_settings.cache_clear()` between cases."""
    return load_settings()


def _pipe_separated(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]
