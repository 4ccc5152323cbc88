from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from kechuang.config import get_settings


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Change settings through their environment variables for one test."""

    def set_(**values: object) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"KECHUANG_{key.upper()}", str(value))
        get_settings.cache_clear()

    yield set_
    get_settings.cache_clear()
