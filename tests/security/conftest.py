"""Fixtures of the security tests: an application built under changed settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI

from kechuang.config import get_settings


@pytest.fixture
def app_with(engine, monkeypatch) -> Iterator[Callable[..., FastAPI]]:  # type: ignore[no-untyped-def]
    """``app_with(web_threads=1, …)``: the application under these settings (environment
    variables, so that services reading ``get_settings()`` see them too)."""
    from kechuang.app import create_app

    def build(**settings: object) -> FastAPI:
        for name, value in settings.items():
            text = value if isinstance(value, str) else (
                str(value).lower() if isinstance(value, bool) else
                ("[" + ",".join(f'"{v}"' for v in value) + "]") if isinstance(value, list)
                else str(value))
            monkeypatch.setenv(f"KECHUANG_{name.upper()}", text)
        get_settings.cache_clear()
        return create_app(engine)

    yield build
    get_settings.cache_clear()
