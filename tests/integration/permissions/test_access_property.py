"""A property over random people, groups, page trees and conversations: nothing shown to a reader (an
answer, its sources, its buttons' values, a search result) ever carries a page that reader may not read.

The corpus is indexed once (real model, embedded Chroma); each example gives its pages a random tree and
random restrictions, writes the access the sync would compute onto the chunks, and checks what the
product shows against an oracle written separately from `common.ingestion.page_access`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.answers.composer import compose_answer
from common.answers.writer import AnswerWriter
from common.config import load_settings
from common.confluence.folder_source import FolderPageSource
from common.confluence.models import PageRef
from common.ingestion.page_access import listing_rules
from common.permissions.readers import ConfluenceReader
from common.runtime.ai import build_answer_writer
from common.runtime.search import build_retriever
from common.runtime.store import build_store
from common.search.api import SearchEndpoint
from common.search.retriever import HybridRetriever
from common.slack.answer_blocks import answer_blocks
from common.store.access import EVERYONE, Reader, ReadRule
from common.store.chunk import access_fields
from common.store.chunk_store import ChunkStore
from tests.support.runs import run_sync
from tests.support.sample_space import IT_SECTION, copy_sample_space

PAGES = (*IT_SECTION, "1300", "1301", "1302", "1303", "1313")
USERS = tuple(f"acc-{n}" for n in range(6))
GROUPS = ("eng", "hr", "it", "leads")
QUESTIONS = (
    "How do I connect to the VPN?",
    "How do I reset my password and MFA?",
    "What happened in the duplicate payment run?",
    "How do I request software?",
    "What is the deploy process?",
    "How should I review code?",
    "Printer is jammed and the wifi is down",
)


@dataclass(frozen=True)
class World:
    parents: dict[str, str | None]
    restrictions: dict[str, ReadRule]
    space_view: ReadRule | None
    memberships: dict[str, frozenset[str]]


@dataclass(frozen=True)
class Asker:
    account_id: str
    conversation: str


def _oracle(world: World, asker: Asker, page_id: str) -> bool:
    """May `asker` read `page_id`? Up the tree, every restriction met must name them or a group of theirs."""
    if asker.conversation != "im":
        return not _restricted_anywhere(world, page_id)
    groups = world.memberships.get(asker.account_id, frozenset())
    rules = [world.space_view] if world.space_view is not None else []
    node: str | None = page_id
    while node is not None:
        if node in world.restrictions:
            rules.append(world.restrictions[node])
        node = world.parents[node]
    return all(asker.account_id in r.users or groups & set(r.groups) for r in rules)


def _restricted_anywhere(world: World, page_id: str) -> bool:
    node: str | None = page_id
    while node is not None:
        if node in world.restrictions:
            return True
        node = world.parents[node]
    return world.space_view is not None


rules_st = st.builds(
    ReadRule,
    users=st.lists(st.sampled_from(USERS), max_size=2).map(tuple),
    groups=st.lists(st.sampled_from(GROUPS), max_size=2).map(tuple),
)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    order = list(draw(st.permutations(PAGES)))
    parents: dict[str, str | None] = {order[0]: None}
    for position, page in enumerate(order[1:], start=1):
        parents[page] = draw(st.sampled_from(order[:position]))
    restricted = draw(st.lists(st.sampled_from(PAGES), unique=True, max_size=6))
    restrictions = {page: draw(rules_st) for page in restricted}
    space_view = draw(st.none() | rules_st)
    memberships = {user: frozenset(draw(st.lists(st.sampled_from(GROUPS), max_size=3))) for user in USERS}
    return World(parents, restrictions, space_view, memberships)


askers = st.builds(Asker, account_id=st.sampled_from(USERS), conversation=st.sampled_from(["im", "channel"]))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[AnswerWriter, ChunkStore, HybridRetriever]:
    root = tmp_path_factory.mktemp("property")
    kb_settings = load_settings(kb_home=root / "kb-home")
    run_sync(kb_settings, source=FolderPageSource(copy_sample_space(root / "space", only=PAGES)))
    store = build_store(kb_settings)
    return build_answer_writer(kb_settings), store, build_retriever(kb_settings, store)


def _apply(store: ChunkStore, world: World) -> None:
    """What the sync writes for this tree: `page_access` over a listing of it."""
    listing = [
        PageRef(
            page_id,
            "HB",
            page_id,
            1,
            ancestor_ids=_ancestors(world, page_id),
            read_rule=world.restrictions.get(page_id),
        )
        for page_id in PAGES
    ]
    rules = listing_rules(listing, world.space_view)
    chunks = store.get_metadata(where={"space_key": "HB"})
    store.batch_update_metadata({cid: access_fields(rules[meta.page_id]) for cid, meta in chunks.items()})


def _ancestors(world: World, page_id: str) -> tuple[str, ...]:
    chain: list[str] = []
    node = world.parents[page_id]
    while node is not None:
        chain.append(node)
        node = world.parents[node]
    return tuple(reversed(chain))


def _reader(world: World, asker: Asker) -> Reader:
    if asker.conversation != "im":
        return EVERYONE
    return ConfluenceReader(asker.account_id, world.memberships[asker.account_id])


def _shown_pages(text: str) -> set[str]:
    """Every page a rendered message or reply names: in chunk ids, page ids of button values, URLs."""
    return set(re.findall(r"\b(1[0-3]\d\d)(?:-[0-9a-f]{16}|/|\b)", text)) & set(PAGES)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds(), asker=askers, question=st.sampled_from(QUESTIONS))
def test_nothing_shown_carries_a_page_the_reader_may_not_read(
    corpus: tuple[AnswerWriter, ChunkStore, HybridRetriever], world: World, asker: Asker, question: str
) -> None:
    writer, store, retriever = corpus
    _apply(store, world)
    reader = _reader(world, asker)

    composed = compose_answer(
        retriever=retriever,
        writer=writer,
        question=question,
        ceiling="confidential",
        reader=reader,
    )
    blocks = (
        answer_blocks(
            answer=composed.answer,
            passages=composed.passages,
            results=composed.results,
            answer_id="a1",
            question=question,
        )
        if composed.results
        else []
    )
    endpoint = SearchEndpoint(
        api_key=None,
        as_user_api_key="as-user-key",
        retriever=lambda: retriever,
        recorder=_NoRecorder,
        access_of=lambda _who: _Access(reader),
    )
    reply = endpoint.handle(
        method="POST",
        path="/",
        body=json.dumps(
            {
                "query": question,
                "as_user": asker.account_id,
                "filters": {"max_classification": "confidential"},
            }
        ).encode(),
        authorization="Bearer as-user-key",
    )

    shown = (
        {r.page_id for r in composed.results}
        | _shown_pages(json.dumps(blocks))
        | _shown_pages(json.dumps(reply.body))
    )
    assert reply.status == 200
    assert {page for page in shown if not _oracle(world, asker, page)} == set()


@dataclass(frozen=True)
class _Access:
    reader: Reader
    status: str = "personal"
    note: str = ""


class _NoRecorder:
    """Access counting is not what this property is about; it would write to the store mid-example."""

    def __init__(self) -> None:
        pass

    def record(self, results: object, *, source: str, query_id: str | None = None) -> str:
        return "q1"


def test_the_oracle_and_the_sync_agree_on_a_nested_restriction() -> None:
    world = World(
        parents={"1000": None, "1100": "1000", "1101": "1100"},
        restrictions={"1000": ReadRule(groups=("eng",)), "1101": ReadRule(users=("acc-1",))},
        space_view=None,
        memberships={"acc-1": frozenset({"eng"}), "acc-2": frozenset({"eng"})},
    )

    assert _oracle(world, Asker("acc-1", "im"), "1101")
    assert not _oracle(world, Asker("acc-2", "im"), "1101")
    assert _oracle(world, Asker("acc-2", "im"), "1100")
