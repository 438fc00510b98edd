"""Reading the nested objects of a Slack interaction payload without trusting their shape.

A verified signature says who sent a payload, not that its fields have the types Slack documents: a field
read as an object can arrive as a string or a list (another app's payload, a Slack change, a bug in a
client we sign for in tests). Reading one with `payload.get(key) or {}` then fails with an AttributeError,
a 500 that Slack retries. These lookups raise `InvalidInteraction` instead, which the handler answers 400.
"""

from __future__ import annotations

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
