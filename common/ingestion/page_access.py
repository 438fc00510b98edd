"""Who may read a page: every restriction on the way to it, as Confluence intersects them.

A page is readable by someone who passes the space's view permission, the page's own read restriction and
the read restriction of every restricted ancestor. The listing of the space gives each page's own
restriction and its ancestors, so this is computed for the whole space at once, every sync: a restriction
added to a parent changes no child's version, and must still reach the children.

An ancestor the listing does not hold (the sync account may not see it) has unknown restrictions; the page
then gets a rule that lets nobody in, rather than being shown to anyone it might not be meant for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from common.confluence.models import PageRef
from common.store.access import ReadRule, combined

NOBODY = ReadRule()
"""A rule naming no one: for a page below an ancestor whose restrictions cannot be known."""


def page_rules(
    own: ReadRule | None,
    ancestor_ids: Sequence[str],
    *,
    listed: Mapping[str, PageRef],
    space: ReadRule | None,
) -> tuple[ReadRule, ...]:
    ancestors = [listed[a].read_rule if a in listed else NOBODY for a in ancestor_ids]
    return combined([space, *ancestors, own])


def listing_rules(listing: Sequence[PageRef], space: ReadRule | None) -> dict[str, tuple[ReadRule, ...]]:
    listed = {ref.page_id: ref for ref in listing}
    return {
        ref.page_id: page_rules(ref.read_rule, ref.ancestor_ids, listed=listed, space=space)
        for ref in listing
    }
