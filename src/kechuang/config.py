"""Configuration: environment variables (``KECHUANG_*``) over a TOML settings file over defaults.

The settings file is ``./kechuang.toml`` unless ``KECHUANG_SETTINGS_FILE`` names another one.
Every field below is documented in ``docs/settings.md``; a test keeps the two in step.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _settings_file() -> Path:
    return Path(os.environ.get("KECHUANG_SETTINGS_FILE", "kechuang.toml"))


class Settings(BaseSettings):
    """Runtime settings of one kechuang installation."""

    model_config = SettingsConfigDict(env_prefix="KECHUANG_", extra="forbid")

    database_url: str = Field(
        default="sqlite:///var/kechuang.sqlite3",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on")
    secret_key: str = Field(
        default="dev-only-change-me",
        description="Secret mixed into session and CSRF token hashes; set it in production",
    )
    session_hours: int = Field(default=12, ge=1, description="Lifetime of a login session")
    cookie_secure: bool = Field(default=False, description="Mark cookies Secure (behind HTTPS)")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per account or address before lock-out"
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="Window in which failed logins are counted"
    )
    default_locale: str = Field(default="zh", pattern="^(zh|en)$", description="zh or en")
    timezone: str = Field(default="Asia/Shanghai", description="Time zone for display")
    import_max_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1024, description="Largest upload or import file accepted"
    )
    import_max_rows: int = Field(
        default=1_000_000, ge=1, description="Most data rows one import file may hold"
    )
    import_max_unzipped_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=1024,
        description="Largest total uncompressed size of an XLSX file (zip-bomb guard)",
    )
    import_max_zip_ratio: int = Field(
        default=200, ge=10, description="Largest compression ratio of any XLSX member"
    )
    demo_region_code: str = Field(
        default="320582", description="County (GB/T 2260) the demo generator builds"
    )
    import_templates_dir: str | None = Field(
        default=None, description="Folder of extra import templates (YAML) besides the built-ins"
    )
    ui_templates_dir: str | None = Field(
        default=None, description="Folder whose Jinja templates override the built-in pages"
    )
    cache_dir: str = Field(
        default="var/cache",
        description="Folder of rebuildable caches (matcher index snapshots of a server "
        "database, document vectors)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_settings_file())
        return (init_settings, env_settings, toml)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
