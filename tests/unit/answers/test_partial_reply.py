"""What is released of a reply while it streams is always the start of the finished, checked answer, however
the reply is split into pieces, and all of it once the reply is whole."""

from __future__ import annotations

import json
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from common.answers.citations import known_markers
from common.answers.partial_reply import PartialReply

NUMBERS = {1, 2, 3}
_words = st.sampled_from(
    ["Sessions", "last", "12", "hours.", "Okta", "é", '"quoted"', "a\\b", "[see", "x]", "&<>"]
)
_markers = st.builds(
    lambda numbers, spaced: "[" + (", " if spaced else ",").join(map(str, numbers)) + "]",
    st.lists(st.integers(1, 12), min_size=1, max_size=3),
    st.booleans(),
)
_spaces = st.sampled_from([" ", "  ", "\n", "\n\n", ""])
answers = st.lists(st.one_of(_words, _markers, _spaces), max_size=30).map("".join)


def _pieces(text: str, cuts: list[int]) -> list[str]:
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in pairwise(bounds)]


@given(answer=answers, cuts=st.lists(st.integers(0, 10_000), max_size=40))
def test_released_text_is_always_the_start_of_the_checked_answer(answer: str, cuts: list[int]) -> None:
    raw = json.dumps({"grounded": True, "answer": answer, "cited": [1]})
    final = known_markers(answer.strip(), NUMBERS).strip()
    reply = PartialReply(NUMBERS)

    released = ""
    for piece in _pieces(raw, cuts):
        released += reply.feed(piece)
        assert final.startswith(released)

    assert released == reply.shown == final and reply.text == raw


@given(answer=answers, cuts=st.lists(st.integers(0, 10_000), max_size=10))
def test_nothing_is_released_of_a_decline(answer: str, cuts: list[int]) -> None:
    raw = json.dumps({"grounded": False, "answer": answer, "cited": []})
    reply = PartialReply(NUMBERS)

    assert "".join(reply.feed(piece) for piece in _pieces(raw, cuts)) == ""
