"""Offline AI metadata: zero-shot doc type and audience with the real model, plus readable heuristics."""

from __future__ import annotations

import pytest

from common.ai.embeddings import get_embedder
from common.ingestion.enrichment import OfflineEnricher, PageContent, complexity_for, summary_for, topics_for


@pytest.fixture(scope="module")
def enricher() -> OfflineEnricher:
    return OfflineEnricher(get_embedder(None, "cpu", 32))


def _page(
    title: str,
    texts: list[str],
    *,
    types: list[str] | None = None,
    labels: tuple[str, ...] = (),
    headers: tuple[str, ...] = (),
) -> PageContent:
    embedder = get_embedder(None, "cpu", 32)
    return PageContent(
        title=title,
        labels=labels,
        headers=headers,
        chunk_texts=tuple(texts),
        chunk_types=tuple(types or ["text"] * len(texts)),
        embeddings=embedder.embed([f"{title}\n{t}" for t in texts]),
    )


def test_rules_that_must_be_followed_read_as_a_policy(enricher: OfflineEnricher) -> None:
    page = _page(
        "Passwords",
        [
            "All employees must use a password manager. Sharing passwords is prohibited. "
            "Violations of this rule will result in disciplinary action, up to termination."
        ],
    )

    assert enricher.enrich(page).doc_type == "policy"


def test_a_page_of_questions_reads_as_an_faq(enricher: OfflineEnricher) -> None:
    page = _page(
        "IT questions",
        ["You can reset it at id.larkspur.example.", "Ask in #it-help.", "Yes, up to two monitors."],
        headers=("How do I reset my password?", "Where do I get help?", "Can I get a second monitor?"),
    )

    assert enricher.enrich(page).doc_type == "FAQ"


def test_numbered_setup_steps_read_as_a_how_to(enricher: OfflineEnricher) -> None:
    page = _page(
        "Setting up your laptop",
        ["1. Unbox the laptop and sign in.\n2. Install the VPN client.\n3. Run the setup script."],
        types=["list"],
    )

    assert enricher.enrich(page).doc_type == "how-to"


def test_code_heavy_engineering_page_is_for_engineers(enricher: OfflineEnricher) -> None:
    page = _page(
        "Database migrations",
        [
            "Run alembic upgrade head before deploying the service.",
            "alembic revision --autogenerate -m 'add'",
        ],
        types=["text", "code"],
    )

    assert "engineers" in enricher.enrich(page).audience


def test_topics_start_with_the_pages_own_labels_and_skip_governance_labels() -> None:
    page = PageContent(
        title="VPN Setup",
        labels=("vpn", "owner-praman", "confidential", "remote-work"),
        headers=("Installing the client", "Troubleshooting the client"),
        chunk_texts=("x",),
        chunk_types=("text",),
        embeddings=get_embedder(None, "cpu", 32).embed(["x"]),
    )

    topics = topics_for(page)

    assert topics[:2] == ("vpn", "remote-work")
    assert "owner-praman" not in topics and "confidential" not in topics
    assert "client" in topics


def test_mostly_code_is_advanced() -> None:
    page = PageContent(
        "t",
        (),
        (),
        ("Run it.", "kubectl apply -f x.yaml", "helm upgrade"),
        ("text", "code", "code"),
        get_embedder(None, "cpu", 32).embed(["a", "b", "c"]),
    )

    assert complexity_for(page) == "advanced"


def test_plain_short_sentences_are_beginner() -> None:
    page = PageContent(
        "t",
        (),
        (),
        ("Take the lift to floor two. The desk is on the left. Say hi.",),
        ("text",),
        get_embedder(None, "cpu", 32).embed(["a"]),
    )

    assert complexity_for(page) == "beginner"


def test_summary_is_the_lead_of_the_first_prose_chunk_within_300_characters() -> None:
    long_text = "This page explains how to connect to the VPN. " + "It has many details. " * 30
    page = PageContent(
        "VPN",
        (),
        (),
        ("echo hi", long_text),
        ("code", "text"),
        get_embedder(None, "cpu", 32).embed(["a", "b"]),
    )

    summary = summary_for(page)

    assert summary.startswith("This page explains how to connect to the VPN.")
    assert len(summary) <= 300
