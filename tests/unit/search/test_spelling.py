"""Search forgives how people type: compounds written three ways, and a typo in a longer word."""

from __future__ import annotations

import pytest

from common.search.keyword_index import IndexedText, KeywordIndex

DOCS = [
    IndexedText("wifi", "Wi-Fi in the offices: join Larkspur-Corp with your device certificate."),
    IndexedText("mail", "Forward suspicious email to the security team."),
    IndexedText("login", "Use the login page of Okta; signin problems go to the help desk."),
    IndexedText("password", "Reset your password in Okta with the forgot link."),
    IndexedText("tunnel", "Split tunnelling sends only internal traffic through GlobalProtect."),
    IndexedText("vpn", "The VPN portal is vpn.larkspur.example."),
]


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build(DOCS, built_at=1.0)


def _top(index: KeywordIndex, query: str) -> str | None:
    hits = index.search(query, k=1)
    return hits[0].chunk_id if hits else None


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ("how do I get on the wifi", "wifi"),
        ("Wi-Fi", "wifi"),
        ("WiFi in the office", "wifi"),
        ("where do I report a phishing e-mail", "mail"),
        ("I cannot log in", "login"),
        ("sign-in fails", "login"),
    ],
)
def test_spelling_variants_and_compounds_match_each_other(index: KeywordIndex, query: str, page: str) -> None:
    assert _top(index, query) == page


@pytest.mark.parametrize(
    ("query", "page"),
    [("I forgot my pasword", "password"), ("reset passwrod", "password"), ("split tunneling", "tunnel")],
)
def test_a_typo_in_a_longer_word_still_finds_the_page(index: KeywordIndex, query: str, page: str) -> None:
    assert _top(index, query) == page


def test_short_unknown_words_are_not_guessed_at(index: KeywordIndex) -> None:
    assert index.search("vpm", k=3) == []


def test_words_the_index_knows_are_never_replaced(index: KeywordIndex) -> None:
    assert _top(index, "vpn portal") == "vpn"
