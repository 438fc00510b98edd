"""Editable copies of the bundled sample space, for tests that change pages between syncs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.confluence_content import ConfluenceContent
from tests.support.paths import SAMPLE_SPACE

IT_SECTION = ("1000", "1100", "1101", "1102", "1103", "1104", "1105", "1106", "1107")
"""The home page and the IT section: a small, self-contained part of the space for slower tests."""


def copy_sample_space(dest: Path, *, only: tuple[str, ...] | None = None) -> Path:
    """Copy the sample space, or just the pages `only` names (their parents must be among them)."""
    shutil.copytree(SAMPLE_SPACE, dest)
    if only is not None:
        for meta in (dest / "pages").glob("*.json"):
            if meta.name.split("-", 1)[0] not in only:
                meta.unlink()
                meta.with_suffix(".xhtml").unlink()
    return dest


def page_files(folder: Path, page_id: str) -> tuple[Path, Path]:
    [meta] = (folder / "pages").glob(f"{page_id}-*.json")
    return meta, meta.with_suffix(".xhtml")


def read_meta(folder: Path, page_id: str) -> dict[str, Any]:
    meta, _ = page_files(folder, page_id)
    data: dict[str, Any] = json.loads(meta.read_text())
    return data


def write_meta(folder: Path, page_id: str, **changes: Any) -> None:
    meta, _ = page_files(folder, page_id)
    meta.write_text(json.dumps(read_meta(folder, page_id) | changes, indent=2))


def edit_page(
    folder: Path, page_id: str, transform: Callable[[str], str], *, when: datetime | None = None
) -> None:
    """Change a page's body the way an author would: new version, new modification time."""
    _, body = page_files(folder, page_id)
    body.write_text(transform(body.read_text()))
    version = read_meta(folder, page_id)["version"] + 1
    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_meta(folder, page_id, version=version, updated=stamp)


def delete_page(folder: Path, page_id: str) -> None:
    for path in page_files(folder, page_id):
        path.unlink()


def load_into_confluence(
    confluence: ConfluenceContent, *, space_key: str = "HB", only: tuple[str, ...] = IT_SECTION
) -> dict[str, str]:
    """Put sample pages and their authors into a Confluence stand-in; maps sample ids to Confluence ids."""
    space = json.loads((SAMPLE_SPACE / "space.json").read_text())
    for user in space["users"]:
        confluence.add_user(user["account_id"], user["name"], email=user["email"])
    confluence.add_space(space_key, space["name"])
    for group, members in space.get("groups", {}).items():
        confluence.add_group(group, members)
    ids: dict[str, str] = {}
    for sample_id in only:
        meta_path, body_path = page_files(SAMPLE_SPACE, sample_id)
        meta = json.loads(meta_path.read_text())
        ids[sample_id] = confluence.add_page(
            space_key,
            meta["title"],
            body_path.read_text(),
            author=meta["author"],
            parent_id=ids.get(meta["parent_id"]) if meta["parent_id"] else None,
            labels=meta["labels"],
        )
        if restriction := meta.get("read_restriction"):
            confluence.restrict(
                ids[sample_id], users=restriction.get("users", []), groups=restriction.get("groups", [])
            )
    return ids
