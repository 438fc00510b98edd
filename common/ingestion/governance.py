"""Who owns a page and how confidential it is, decided from what the source says about it."""

from __future__ import annotations

from common.confluence.models import SourcePage
from common.errors import SourceError
from common.store.chunk import CLASSIFICATIONS, Classification


def owner_of(page: SourcePage) -> str:
    """An explicit owner (label `owner-<user>` or a sample-space field) wins over the page's creator.

    The creator, not the last editor: whoever fixed a typo last does not thereby own the content.
    """
    return (page.owner or page.author).handle


def classification_of(page: SourcePage, *, default: Classification) -> Classification:
    """An explicit source value, else a label (`confidential` or `classification-confidential`), else default.

    When labels disagree the most restrictive wins: mislabelling must never widen who can see a page.
    """
    if page.classification is not None:
        if page.classification not in CLASSIFICATIONS:
            raise SourceError(
                f"Page {page.page_id} ({page.title!r}) has classification {page.classification!r}; "
                f"expected one of {', '.join(CLASSIFICATIONS)}."
            )
        return page.classification
    found = [
        level
        for label in page.labels
        for level in CLASSIFICATIONS
        if label.lower() in (level, f"classification-{level}")
    ]
    if found:
        return max(found, key=CLASSIFICATIONS.index)
    return default
