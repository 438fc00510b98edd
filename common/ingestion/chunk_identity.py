"""How a chunk is named and when it has changed: the one home of these rules.

- A section's key is a digest of its heading path, the ordinal among sections with that same path, and the
  chunk's number within the section (`section_key`), so editing one section leaves every other section's
  keys as they were.
- A chunk's id is the page id (readable, so deletes by page are easy to eyeball) plus a digest of that key
  (`chunk_id_for`).
- A chunk is embedded from its page title and heading path followed by its text (`embedding_input`),
  because a paragraph alone often does not say what it is about.
- Its content hash covers that exact input and the embedding model (`content_hash`): an unchanged hash means
  the stored vector is still right; switching models re-embeds everything, as it must.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def section_key(path: Sequence[str], *, ordinal: int, sequence: int) -> str:
    digest = hashlib.sha256("\x1f".join(path).encode()).hexdigest()[:12]
    return f"{digest}-{ordinal}-{sequence}"


def chunk_id_for(page_id: str, key: str) -> str:
    return f"{page_id}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def embedding_input(*, page_title: str, parent_headers: Sequence[str], text: str) -> str:
    path = " > ".join((page_title, *parent_headers))
    return f"{path}\n{text}"


def content_hash(model_id: str, input_text: str) -> str:
    return hashlib.sha256(f"{model_id}\n{input_text}".encode()).hexdigest()[:32]
