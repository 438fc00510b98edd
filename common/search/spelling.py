"""How people spell what a page says: compounds written three ways, and typos.

- A hyphenated compound also counts as one word, in pages and in questions: "Wi-Fi" is "wifi", "e-mail"
  is "email", "sign-in" is "signin", so each spelling finds the others.
- Two words of a question that the pages write as one ("sign in", "log in" when the page says "login")
  are tried as that one word too, when the index knows it.
- A word of a question the index does not know (at least `MIN_TYPO_LENGTH` letters) is read as the words it
  does know one deletion away on either side (a symmetric-delete neighbourhood, which also covers swapped
  letters: "passwrod" and "password" share "passwrd"). Short words are left alone: "vpm" is as likely an
  acronym as a typo, and one letter off a short word is another word.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

_COMPOUND = re.compile(r"\b([^\W_]+)-([^\W_]+)\b")
_WORD = re.compile(r"[^\W_]+")
MIN_TYPO_LENGTH = 5


def with_joined_compounds(text: str) -> str:
    """ "Wi-Fi settings" → "Wi-Fi wifi settings": the original stays, the joined form is added."""
    return _COMPOUND.sub(lambda m: f"{m[0]} {m[1]}{m[2]}", text)


def adjacent_pairs(text: str) -> list[str]:
    """Each two neighbouring words of `text` written as one: "how do I sign in" → ["howdo", …, "signin"]."""
    words = _WORD.findall(text.lower())
    return [first + second for first, second in itertools.pairwise(words)]


class TypoNeighbours:
    """Index terms one deletion away from a term, built once per index."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._by_deletion: dict[str, set[str]] = defaultdict(set)
        for term in vocabulary:
            if len(term) >= MIN_TYPO_LENGTH - 1:
                for variant in _deletions(term):
                    self._by_deletion[variant].add(term)

    def near(self, term: str) -> list[str]:
        """Known terms within one deletion of `term` on either side, in a stable order; [] for short terms."""
        if len(term) < MIN_TYPO_LENGTH:
            return []
        found: set[str] = set()
        for variant in _deletions(term):
            found |= self._by_deletion.get(variant, set())
        return sorted(found - {term})


def _deletions(term: str) -> Sequence[str]:
    return [term, *(term[:i] + term[i + 1 :] for i in range(len(term)))]
