"""Configuration: environment variables (``KECHUANG_*``) over a TOML settings file over defaults.

The settings file is ``./kechuang.toml`` unless ``KECHUANG_SETTINGS_FILE`` names another one.
Every field below is documented in ``docs/settings.md``; a test keeps the two in step.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
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
    login_account_max_failures: int = Field(
        default=20, ge=1,
        description="Failed logins on one account from all addresses in the window before "
        "only addresses that logged into it before may try (no hard lock-out)",
    )
    login_known_address_days: int = Field(
        default=90, ge=1, description="How long an address that logged in stays known"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto headers are believed",
    )
    hsts_seconds: int = Field(
        default=31_536_000, ge=0,
        description="max-age of Strict-Transport-Security on HTTPS responses (0: no header)",
    )
    password_min_length: int = Field(default=12, ge=8, le=128,
                                     description="Shortest password accepted")
    totp_required_for_admins: bool = Field(
        default=False,
        description="Bureau administrators must enrol and use a TOTP second factor",
    )
    totp_issuer: str = Field(default="kechuang", description="Issuer shown in authenticator apps")
    db_pool_size: int = Field(
        default=20, ge=1, le=500,
        description="Database connections kept open per server process",
    )
    db_max_overflow: int = Field(
        default=5, ge=0, le=500, description="Extra connections opened under a burst"
    )
    db_pool_timeout: float = Field(
        default=5.0, gt=0, le=120,
        description="Seconds a request waits for a database connection before a 503",
    )
    web_threads: int = Field(
        default=20, ge=1, le=500,
        description="Worker threads for request handlers (at most db_pool_size + "
        "db_max_overflow, so a thread never waits for a connection)",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, ge=0, le=600_000,
        description="Milliseconds a SQLite write waits for the write lock before a 503",
    )
    request_queue_seconds: float = Field(
        default=10.0, gt=0, le=300,
        description="Seconds a request may wait for a free worker before a 503",
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, le=3600, description="Retry-After of a 503 answer to overload"
    )
    max_body_bytes: int = Field(
        default=210 * 1024 * 1024, ge=1024,
        description="Largest request body (checked before it is stored or authenticated)",
    )
    max_form_body_bytes: int = Field(
        default=1024 * 1024, ge=1024,
        description="Largest body of a request that is not a file upload",
    )
    import_max_columns: int = Field(
        default=500, ge=1, description="Most columns one import file may hold"
    )
    import_max_seconds: float = Field(
        default=120.0, gt=0, description="CPU-time budget of reading one XLSX import file"
    )
    problem_report_cap: int = Field(
        default=200, ge=1,
        description="Most problems listed in an API answer (the full report is downloadable)",
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
    import_chunk_facts: int = Field(
        default=50_000, ge=100,
        description="On SQLite, an import of more values than this writes them in short "
        "transactions of about this many, so that short writes never wait long for the lock",
    )
    import_stale_seconds: int = Field(
        default=900, ge=10,
        description="An unfinished import whose process is on another host and has not "
        "written for this long is treated as dead (undone or finished by the next import)",
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
    jobs_in_web: bool = Field(
        default=True,
        description="Run queued jobs in a background thread of each web process (the demo); "
        "false: web processes only queue jobs and separate `kechuang jobs work` processes run "
        "them (docs/deployment.md)",
    )
    api_token_max_days: int = Field(
        default=365, ge=1, le=3650,
        description="Longest lifetime an administrator may give an API token, in days",
    )
    cache_dir: str = Field(
        default="var/cache",
        description="Folder of rebuildable caches (matcher index snapshots of a server "
        "database, document vectors)",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    @model_validator(mode="after")
    def _pool_fits_threads(self) -> Settings:
        if self.web_threads > self.db_pool_size + self.db_max_overflow:
            raise ValueError(
                f"web_threads ({self.web_threads}) exceeds db_pool_size + db_max_overflow "
                f"({self.db_pool_size + self.db_max_overflow}): requests would wait for "
                "database connections")
        return self

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
