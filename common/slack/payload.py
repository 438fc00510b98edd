"""Reading the nested objects of a Slack interaction payload without trusting their shape.

A verified signature says who sent a payload, not that its fields have the types Slack documents: a field
read as an object can arrive as a string or a list (another app's payload, a Slack change, a bug in a
client we sign for in tests). Reading one with `payload.get(key) or {}` then fails with an AttributeError,
a 500 that Slack retries. These lookups raise `InvalidInteraction` instead, which the handler answers 400.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from common.errors import InvalidInteraction


def object_field(container: Mapping[str, Any], key: str) -> dict[str, Any]:
    """`container[key]`, an object; `{}` when it is missing or null (Slack sends null for an unset choice)."""
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInteraction(f"`{key}` in the Slack payload is a {type(value).__name__}, not an object.")
    return cast(dict[str, Any], value)


def object_list_field(container: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """`container[key]`, a list of objects; `[]` when it is missing or null."""
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidInteraction(f"`{key}` in the Slack payload is not a list of objects.")
    return cast(list[dict[str, Any]], value)


def user_id_of(payload: Mapping[str, Any]) -> str:
    """Who acted: `user.id`, which every interaction carries."""
    user_id = object_field(payload, "user").get("id")
    if not user_id:
        raise InvalidInteraction("The interaction names no user.")
    return str(user_id)


def modal_metadata(view: Mapping[str, Any], modal: str) -> dict[str, Any]:
    """The JSON object our modal `modal` (named in the error) keeps in its `private_metadata`."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, TypeError) as exc:
        raise InvalidInteraction(f"The {modal} modal's private_metadata is not ours: {exc}") from exc
    if not isinstance(meta, dict):
        raise InvalidInteraction(f"The {modal} modal's private_metadata is not ours: not a JSON object.")
    return cast(dict[str, Any], meta)
