from __future__ import annotations

import pytest
from pydantic import ValidationError

from kechuang.config import Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """These tests own the KECHUANG_* environment (make or CI may have set some)."""
    import os

    for name in list(os.environ):
        if name.startswith("KECHUANG_"):
            monkeypatch.delenv(name)


def test_environment_beats_the_settings_file_which_beats_defaults(tmp_path, monkeypatch):
    toml = tmp_path / "k.toml"
    toml.write_text('port = 9100\nhost = "0.0.0.0"\n', encoding="utf-8")
    monkeypatch.setenv("KECHUANG_SETTINGS_FILE", str(toml))
    monkeypatch.setenv("KECHUANG_PORT", "9200")
    s = Settings()
    assert s.port == 9200  # environment
    assert s.host == "0.0.0.0"  # file
    assert s.session_hours == 12  # default


def test_a_typo_in_the_settings_file_is_an_error(tmp_path, monkeypatch):
    toml = tmp_path / "k.toml"
    toml.write_text("prot = 9100\n", encoding="utf-8")
    monkeypatch.setenv("KECHUANG_SETTINGS_FILE", str(toml))
    with pytest.raises(ValidationError, match="prot"):
        Settings()


def test_invalid_values_are_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("KECHUANG_SETTINGS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("KECHUANG_DEFAULT_LOCALE", "fr")
    with pytest.raises(ValidationError, match="default_locale"):
        Settings()


def test_security_settings_are_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("KECHUANG_SETTINGS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("KECHUANG_TRUSTED_PROXIES", '["10.0.0.0/8", "not-an-address"]')
    with pytest.raises(ValidationError, match="not-an-address"):
        Settings()
    monkeypatch.setenv("KECHUANG_TRUSTED_PROXIES", '["10.0.0.0/8", "::1"]')
    assert Settings().trusted_proxies == ["10.0.0.0/8", "::1"]
    monkeypatch.setenv("KECHUANG_PASSWORD_MIN_LENGTH", "6")
    with pytest.raises(ValidationError, match="password_min_length"):
        Settings()
