"""Every error the product raises on purpose, and the exit status each one means.

One hierarchy under `KbError`, so entry points can turn any of them into a clear message (CLI) or a status
code (HTTP) without knowing where it came from. Each message says what went wrong *and* what a person can
do about it. Exit statuses are shared by the CLI and the Cloud Run jobs, so schedulers and people read them
one way: 0 success; 1 finished with errors (details were logged); 2 bad usage or settings; 75 (EX_TEMPFAIL)
a service was unavailable, run it again later (Cloud Run retries a job task that exits non-zero).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 75


class KbError(Exception):
    """Base of every deliberate error in the knowledge base."""


class ServiceUnavailable(KbError):
    """A service the product depends on is down or overloaded: retrying later can succeed.

    Entry points turn it into HTTP 503 or exit status 75 (EX_TEMPFAIL), and long runs stop at the first one,
    because every further step would fail the same way.
    """


class ConfigError(KbError):
    """A setting is missing or invalid; the message names the environment variable to fix."""


def exit_code_for(exc: KbError) -> int:
    if isinstance(exc, ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, ServiceUnavailable):
        return EXIT_UNAVAILABLE
    return EXIT_ERRORS


# --- the chunk store ----------------------------------------------------------------------------------


class ChunkValidationError(KbError):
    """A chunk record does not fit the metadata model; the message names the field."""

    def __init__(self, field: str, problem: str, *, chunk_id: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.chunk_id = chunk_id
        where = f" in chunk {chunk_id!r}" if chunk_id else ""
        super().__init__(f"Invalid chunk metadata field {field!r}{where}: {problem}")


class StoreError(KbError):
    """Chroma answered, but refused or failed the operation."""


class ChunkNotFound(StoreError):
    """An update named chunk ids the store does not hold."""


class PageDecisionRefused(StoreError):
    """An admin's decision about a page cannot be applied: no such page, or an invalid value."""


class StoreUnavailable(StoreError, ServiceUnavailable):
    """Chroma cannot be reached (down, timing out, or the circuit breaker is open)."""


# --- storage and queues -------------------------------------------------------------------------------


class BlobStoreError(KbError):
    """Cloud Storage refused an operation (missing bucket, no permission); the message says which."""


class BlobConflict(BlobStoreError):
    """Another writer replaced the file since it was read; re-read it before writing again."""


class BlobMissing(BlobStoreError):
    """The named file is not in the bucket."""


class BlobStoreUnavailable(BlobStoreError, ServiceUnavailable):
    """Cloud Storage cannot be reached or keeps failing; retrying later can succeed."""


class QueueUnavailable(ServiceUnavailable):
    """Pub/Sub did not take a message in time or failed it; publishing again later can succeed."""


class TopicNotFound(ConfigError):
    """The topic does not exist: retrying cannot help until it is created or the setting is corrected."""


class InvalidPushMessage(KbError):
    """A request claiming to be a Pub/Sub delivery does not have the envelope's shape."""


# --- search and ai ------------------------------------------------------------------------------------


class KeywordIndexError(KbError):
    """The keyword index artifact is missing, damaged or from another format; rebuild it from Chroma."""


class InvalidSearchRequest(KbError):
    """A search request is malformed (bad query, top_k or filters); the message says what to change."""


class BeirFormatError(KbError):
    """A BEIR-format evaluation file is missing or malformed; the message names the file and line."""


class GoldenQuestionsError(KbError):
    """A golden-questions file is missing or a line does not fit the format; the message names the line."""


class EmbeddingError(KbError):
    """The embedding model could not be loaded or used."""


class EnrichmentError(KbError):
    """The configured AI-metadata provider failed or answered something unusable."""


class LlmError(KbError):
    """The configured LLM provider refused the request or answered something unusable."""


class LlmUnavailable(LlmError, ServiceUnavailable):
    """The LLM provider cannot be reached or keeps failing (timeouts, 429, 5xx) after retries."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the provider asked to wait before the next attempt, when it said."""


# --- content sources ----------------------------------------------------------------------------------


class SourceError(KbError):
    """A content source (Confluence or a folder of pages) failed in a way a retry will not fix."""


class SourceNotFound(SourceError):
    """The source answered 404: the page, space or user does not exist or is not visible to the account."""


class SourceUnavailable(SourceError, ServiceUnavailable):
    """The content source cannot be reached or keeps failing after retries."""


# --- permissions --------------------------------------------------------------------------------------


class PermissionsUnavailable(KbError):
    """What someone may read cannot be worked out now (Confluence down, a link's token refused): restricted
    content is left out and the person is told why; never retried into a stale answer."""


class LinkRefused(KbError):
    """A Confluence link cannot be made or used: a forged, replayed or expired state, a refused code or
    token. The message is what the person is told."""


# --- slack --------------------------------------------------------------------------------------------


class SlackRequestRejected(KbError):
    """A request claiming to come from Slack failed verification; nothing in it was acted on."""


class InvalidInteraction(KbError):
    """A Slack interaction payload is malformed or names an action this app does not have."""


class SlackUnavailable(ServiceUnavailable):
    """The Slack Web API cannot be reached or keeps rate-limiting after retries."""


class WorkInProgress(ServiceUnavailable):
    """Another worker claimed this piece of work moments ago and may be doing it now: deliver it again
    later, when it is either done (and dropped as a duplicate) or its lease has run out."""


class SlackUserNotFound(KbError):
    """A person the product must reach has no Slack account it can find (no email, or none matching)."""


# --- documents ----------------------------------------------------------------------------------------


class DocumentRefused(KbError):
    """A document action is not allowed as asked (a superseded version, someone who is not an approver, an
    area without approvers); the message says why and what to do instead. Nothing was changed."""


class DocumentNotFound(DocumentRefused):
    """No document has the given id."""


class StateConflict(ServiceUnavailable):
    """Shared state (the document workflow, the identity links) kept changing under a change; nothing was
    changed, and trying again can work."""


class PublishFailed(ServiceUnavailable):
    """Confluence could not be reached or refused the page; the document stays approved and a later run
    publishes it."""


# --- analytics and operations -------------------------------------------------------------------------


class InvalidEvent(KbError):
    """An analytics record cannot be stored; the message is the reason it is dead-lettered with."""


class AnalyticsQueryError(KbError):
    """An analytics query failed or a file could not be opened; the message says which and why."""


class BackupError(KbError):
    """A backup cannot be written or restored as asked; the message says what to do instead."""
