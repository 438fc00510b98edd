"""Who owns a page and how confidential it is."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from common.confluence.models import Person, SourcePage
from common.errors import SourceError
from common.ingestion.governance import classification_of, owner_of

PRIYA = Person("Priya Raman", "priya.raman@larkspur.example")
TOM = Person("Tom Okafor", "tom.okafor@larkspur.example")
PAGE = SourcePage(
    page_id="1001",
    space_key="HB",
    title="VPN Setup",
    url="https://larkspur.example/wiki/spaces/HB/pages/1001",
    version=3,
    body_storage="<p>x</p>",
    author=PRIYA,
    last_editor=TOM,
    created_at=datetime(2025, 3, 2, tzinfo=UTC),
    updated_at=datetime(2026, 9, 14, tzinfo=UTC),
)


def test_the_creator_owns_a_page_not_its_last_editor() -> None:
    assert owner_of(PAGE) == "priya.raman@larkspur.example"


def test_an_explicit_owner_wins_over_the_creator() -> None:
    assert owner_of(dataclasses.replace(PAGE, owner=TOM)) == "tom.okafor@larkspur.example"


def test_owner_without_email_is_named_by_display_name() -> None:
    assert owner_of(dataclasses.replace(PAGE, author=Person("Ana Silva"))) == "Ana Silva"


def test_classification_defaults_when_nothing_says_otherwise() -> None:
    assert classification_of(PAGE, default="internal") == "internal"


@pytest.mark.parametrize("label", ["confidential", "classification-confidential", "Confidential"])
def test_a_classification_label_sets_the_level(label: str) -> None:
    assert classification_of(dataclasses.replace(PAGE, labels=(label,)), default="internal") == "confidential"


def test_conflicting_labels_resolve_to_the_most_restrictive() -> None:
    page = dataclasses.replace(PAGE, labels=("public", "confidential"))

    assert classification_of(page, default="internal") == "confidential"


def test_explicit_source_classification_wins() -> None:
    assert (
        classification_of(dataclasses.replace(PAGE, classification="public"), default="internal") == "public"
    )


def test_unknown_explicit_classification_is_an_error_naming_the_page() -> None:
    with pytest.raises(SourceError, match="1001"):
        classification_of(dataclasses.replace(PAGE, classification="secret"), default="internal")
