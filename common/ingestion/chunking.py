"""Page blocks → chunk drafts that the embedding model reads whole.

all-MiniLM-L6-v2 silently drops everything past 256 word pieces, so every draft is checked with the model's
own count of exactly what will be embedded: `embedding_input(title, parent_headers, text)`.

Rules, in order:
- h1 to h3 start sections and form `parent_headers`; h4 to h6 are too minor for that and read as prose.
- Chunks never cross a section. Consecutive prose blocks (paragraphs, panels, minor headings) merge into one
  "text" chunk up to the budget; code, tables and lists become chunks of their own type.
- A lead-in travels with the block it introduces: a short paragraph ending in ":", a label (a few words with
  no sentence end, "Supported laptops"), a minor heading, or a one-line fragment between two code blocks,
  directly before a code, table or list block goes to the top of that block's first chunk, where it says
  what the block is, instead of dangling at the end of the prose before it or standing alone.
- A code block's title (often its file name) heads every chunk of it.
- A heading whose section holds nothing (or only macros that render nothing) and has no subsections is a
  chunk of its own, so the heading can still be found.
- Oversized blocks split on structure first: prose at lines, then sentences, then words; code at lines;
  tables at rows with the header line repeated on top of every chunk; lists at items. A single word or line
  still too long is cut.

Each draft's key is `common.ingestion.chunk_identity.section_key`, so editing one section leaves every other
section's keys and texts as they were, and their embeddings are kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from common.ai import tokens
from common.confluence.storage_format import Block, Code, Heading, ListBlock, Paragraph, Table
from common.errors import ChunkValidationError
from common.ingestion.chunk_identity import embedding_input, section_key
from common.store.chunk import ChunkType

SECTION_LEVELS = 3
LEAD_IN_MAX_CHARS = 200
LABEL_MAX_WORDS = 8
_SENTENCE_END = re.compile(r"[.!?…]$")
_PROSE_SPLITS = ((re.compile(r"\n+"), "\n"), (re.compile(r"(?<=[.!?;])\s+"), " "), (re.compile(r"\s+"), " "))
"""Coarsest first: lines (paragraph breaks), sentences, words. Each with the joiner that restores it."""


@dataclass(frozen=True, slots=True)
class ChunkDraft:
    key: str
    """Unique within the page, and unchanged when other sections of the page are edited."""
    chunk_type: ChunkType
    text: str
    parent_headers: tuple[str, ...]
    language: str = ""


@dataclass(frozen=True, slots=True)
class _Piece:
    """A unit that is never split again, with its word-piece count and the separator that goes before it."""

    text: str
    tokens: int
    joiner: str = "\n"


@dataclass(slots=True)
class _Section:
    path: tuple[str, ...]
    blocks: list[Block] = field(default_factory=list)


class _Budget:
    """Counts once per distinct text, and knows how many word pieces a chunk's own text may use.

    Word-piece counts add up across whitespace (the tokenizer splits there first), so a chunk's size is the
    sum of its pieces; each finished chunk is still verified with one real count of its embedding input.
    """

    def __init__(self, count: Callable[[str], int], *, title: str, max_tokens: int) -> None:
        self._count = count
        self._cache: dict[str, int] = {}
        self._special = count("")
        self.title = title
        self.max_tokens = max_tokens
        self.headers: tuple[str, ...] = ()
        self.limit = 0

    def tokens(self, text: str) -> int:
        """Word pieces of `text` alone, without the model's special tokens."""
        if text not in self._cache:
            self._cache[text] = max(0, self._count(text) - self._special)
        return self._cache[text]

    def fits(self, text: str) -> bool:
        full = embedding_input(page_title=self.title, parent_headers=self.headers, text=text)
        return self._count(full) <= self.max_tokens

    def enter(self, path: tuple[str, ...]) -> None:
        """Set the heading path; drop its outermost headings if they would leave too little room for text."""
        minimum = max(8, self.max_tokens // 8)
        headers = path
        while self._room(headers) < minimum and headers:
            headers = headers[1:]
        if self._room(headers) < minimum:
            raise ChunkValidationError(
                "page_title",
                f"the title leaves {self._room(())} of {self.max_tokens} word pieces for text; shorten it",
            )
        self.headers, self.limit = headers, self._room(headers)

    def _room(self, headers: tuple[str, ...]) -> int:
        prefix = embedding_input(page_title=self.title, parent_headers=headers, text="")
        return self.max_tokens - self._special - self.tokens(prefix)


def chunk_page(
    *,
    title: str,
    blocks: Sequence[Block],
    max_tokens: int,
    count_tokens: Callable[[str], int] = tokens.count_tokens,
) -> list[ChunkDraft]:
    """Cut a page into drafts; every draft's embedding input is at most `max_tokens` word pieces."""
    budget = _Budget(count_tokens, title=title, max_tokens=max_tokens)
    seen: Counter[tuple[str, ...]] = Counter()
    drafts: list[ChunkDraft] = []
    sections = list(_sections(blocks))
    for index, section in enumerate(sections):
        ordinal = seen[section.path]
        seen[section.path] += 1
        budget.enter(section.path)
        texts = [
            (kind, language, text)
            for segment in _segments(section.blocks, budget)
            for kind, language, text in _chunk_segment(segment, budget)
            if text.strip()
        ]
        if not texts and section.path and not _has_subsections(section, sections[index + 1 :]):
            texts = [("text", "", section.path[-1])]
        drafts.extend(
            ChunkDraft(
                key=section_key(section.path, ordinal=ordinal, sequence=sequence),
                chunk_type=kind,
                text=text,
                parent_headers=budget.headers,
                language=language,
            )
            for sequence, (kind, language, text) in enumerate(texts)
        )
    return drafts


def _has_subsections(section: _Section, later: Sequence[_Section]) -> bool:
    """Whether the next section is inside this one: then its chunks carry this heading already."""
    return (
        bool(later) and later[0].path[: len(section.path)] == section.path and later[0].path != section.path
    )


def _sections(blocks: Sequence[Block]) -> Iterator[_Section]:
    stack: list[Heading] = []
    section = _Section(path=())
    for block in blocks:
        if isinstance(block, Heading) and block.level <= SECTION_LEVELS and block.text.strip():
            yield section
            stack = [*(heading for heading in stack if heading.level < block.level), block]
            section = _Section(path=tuple(heading.text for heading in stack))
        else:
            section.blocks.append(block)
    yield section


@dataclass(frozen=True, slots=True)
class _Segment:
    """Either a run of prose texts, or one code, table or list block with its optional lead-in."""

    prose: tuple[str, ...] = ()
    block: Code | Table | ListBlock | None = None
    lead_in: str = ""


def _segments(blocks: Sequence[Block], budget: _Budget) -> Iterator[_Segment]:
    prose: list[str] = []
    lead_in = ""
    after_code = False
    for block in blocks:
        if isinstance(block, Code | Table | ListBlock):
            if lead_in:
                prose.pop()
            if prose:
                yield _Segment(prose=tuple(prose))
            yield _Segment(block=block, lead_in=lead_in)
            prose, lead_in = [], ""
            after_code = isinstance(block, Code)
        elif block.text.strip():
            prose.append(block.text)
            lead_in = (
                block.text if _is_lead_in(block, budget, after_code=after_code and len(prose) == 1) else ""
            )
    if prose:
        yield _Segment(prose=tuple(prose))


def _is_lead_in(block: Block, budget: _Budget, *, after_code: bool) -> bool:
    """`after_code`: the block follows a code block directly, so a one-liner here sits between code."""
    text = block.text.strip()
    short = len(text) <= LEAD_IN_MAX_CHARS and budget.tokens(text) <= budget.limit // 4
    if not short or "\n" in text:
        return short and isinstance(block, Heading)
    announces = isinstance(block, Paragraph) and text.endswith(":")
    label = (
        isinstance(block, Paragraph)
        and len(text.split()) <= LABEL_MAX_WORDS
        and not _SENTENCE_END.search(text)
    )
    return announces or label or after_code or isinstance(block, Heading)


def _chunk_segment(segment: _Segment, budget: _Budget) -> list[tuple[ChunkType, str, str]]:
    block = segment.block
    if block is None:
        room = budget.limit
        pieces = [piece for text in segment.prose for piece in _prose_pieces(text, "\n", room, budget)]
        return [("text", "", text) for text in _pack(pieces, budget)]
    lead = [_Piece(segment.lead_in, budget.tokens(segment.lead_in))] if segment.lead_in else []
    if isinstance(block, Code):
        title = [_Piece(block.title, budget.tokens(block.title))] if block.title else []
        room = budget.limit - _total(lead) - _total(title)
        texts = _pack(_code_pieces(block.text, room, budget), budget, first=lead + title, repeat=title)
        return [("code", block.language, text) for text in texts]
    if isinstance(block, Table):
        header = _header_piece(block, budget) if block.rows else []
        room = budget.limit - _total(lead) - _total(header)
        lines = [Table.render_row(row) for row in block.rows or (block.header,)]
        rows = [piece for line in lines for piece in _prose_pieces(line, "\n", room, budget)]
        return [("table", "", text) for text in _pack(rows, budget, first=lead + header, repeat=header)]
    room = budget.limit - _total(lead)
    items = [piece for item in block.items for piece in _prose_pieces(item, "\n", room, budget)]
    return [("list", "", text) for text in _pack(items, budget, first=lead)]


def _header_piece(table: Table, budget: _Budget) -> list[_Piece]:
    """The header line, cut to half the budget at most so rows always have room under it."""
    if not table.header:
        return []
    line = Table.render_row(table.header)
    half = budget.limit // 2
    if budget.tokens(line) > half:
        line = _cut(line, lambda text: budget.tokens(text) <= half)[0]
    return [_Piece(line, budget.tokens(line))]


def _prose_pieces(text: str, joiner: str, room: int, budget: _Budget, depth: int = 0) -> Iterator[_Piece]:
    """The coarsest pieces of `text` that each fit in `room`: lines, then sentences, then words, then cuts."""
    count = budget.tokens(text)
    if count <= room:
        yield _Piece(text, count, joiner)
        return
    for level, (pattern, inner) in enumerate(_PROSE_SPLITS[depth:], start=depth):
        parts = [part for part in pattern.split(text) if part.strip()]
        if len(parts) > 1:
            for index, part in enumerate(parts):
                yield from _prose_pieces(part, joiner if index == 0 else inner, room, budget, level + 1)
            return
    yield from _cut_pieces(text, joiner, room, budget)


def _code_pieces(code: str, room: int, budget: _Budget) -> list[_Piece]:
    """Whole when it fits, else its lines, verbatim (indentation and blank lines kept)."""
    count = budget.tokens(code)
    if count <= room:
        return [_Piece(code, count)]
    pieces: list[_Piece] = []
    for line in code.split("\n"):
        count = budget.tokens(line)
        pieces.extend([_Piece(line, count)] if count <= room else _cut_pieces(line, "\n", room, budget))
    return pieces


def _cut_pieces(text: str, joiner: str, room: int, budget: _Budget) -> list[_Piece]:
    parts = _cut(text, lambda part: budget.tokens(part) <= room)
    joiners = [joiner] + [""] * (len(parts) - 1)
    return [_Piece(part, budget.tokens(part), glue) for part, glue in zip(parts, joiners, strict=True)]


def _cut(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Cut text with no better boundary into the longest prefixes that fit, at a space when one is near."""
    parts: list[str] = []
    while text:
        low, high = 1, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if fits(text[:middle]) else (low, middle - 1)
        if not fits(text[:low]):
            raise ChunkValidationError("text", "a single character does not fit the token budget")
        space = text.rfind(" ", 0, low) if low < len(text) else -1
        end = space if space > low // 2 else low
        parts.append(text[:end])
        text = text[end:].lstrip(" ")
    return parts


def _pack(
    pieces: Sequence[_Piece], budget: _Budget, *, first: Sequence[_Piece] = (), repeat: Sequence[_Piece] = ()
) -> list[str]:
    """Greedy packing by summed counts; `first` heads the first chunk, `repeat` every later one."""
    groups: list[tuple[Sequence[_Piece], list[_Piece]]] = []
    head: Sequence[_Piece] = first
    body: list[_Piece] = []
    used = _total(first)
    for piece in pieces:
        if body and used + piece.tokens > budget.limit:
            groups.append((head, body))
            head, body, used = repeat, [], _total(repeat)
        body.append(piece)
        used += piece.tokens
    if body:
        groups.append((head, body))
    return [
        text for group_head, group in groups for text in _verified(group_head, group, budget, repeat=repeat)
    ]


def _verified(
    head: Sequence[_Piece], body: list[_Piece], budget: _Budget, *, repeat: Sequence[_Piece]
) -> list[str]:
    """One real count per chunk; if the sum was optimistic, halve the chunk (or cut its single piece)."""
    text = _join([*head, *body])
    if budget.fits(text):
        return [text]
    if len(body) > 1:
        middle = len(body) // 2
        first_half = _verified(head, body[:middle], budget, repeat=repeat)
        return first_half + _verified(repeat, body[middle:], budget, repeat=repeat)
    joiner = body[0].joiner
    parts = _cut(body[0].text, lambda part: budget.fits(_join([*head, _Piece(part, 0, joiner)])))
    return [
        _join([*(head if index == 0 else repeat), _Piece(part, 0, joiner)])
        for index, part in enumerate(parts)
    ]


def _join(pieces: Sequence[_Piece]) -> str:
    """Pieces with their separators; the first one's separator has nothing before it to separate."""
    return pieces[0].text + "".join(piece.joiner + piece.text for piece in pieces[1:]) if pieces else ""


def _total(pieces: Sequence[_Piece]) -> int:
    return sum(piece.tokens for piece in pieces)
