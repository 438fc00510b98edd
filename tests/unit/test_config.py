"""Settings come from the environment, typed, with errors that name the variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.config import get_settings, load_settings
from common.errors import ConfigError


def test_defaults_use_the_embedded_store_under_kb_home(kb_home: Path) -> None:
    settings = get_settings()

    assert settings.chroma_url is None
    assert settings.chroma_dir == kb_home / "chroma"
    assert settings.chroma_collection == "knowledge_base"


def test_environment_variables_set_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMA_URL", "http://chroma.internal:8000/")
    monkeypatch.setenv("CONFLUENCE_SPACES", "HB, ENG ,,OPS")

    settings = load_settings()

    assert settings.chroma_url == "http://chroma.internal:8000"
    assert settings.space_keys == ["HB", "ENG", "OPS"]


def test_explicit_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMA_COLLECTION", "from_env")

    assert load_settings(chroma_collection="explicit").chroma_collection == "explicit"


def test_invalid_value_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMA_URL", "chroma:8000")

    with pytest.raises(ConfigError, match="CHROMA_URL"):
        load_settings()


def test_secrets_are_not_shown_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFLUENCE_API_TOKEN", "s3cret-token")

    assert "s3cret-token" not in repr(load_settings())
