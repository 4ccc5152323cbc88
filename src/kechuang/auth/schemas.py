"""Pydantic shapes at the edge of the accounts package: API tokens (issue 11 item 9)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenCreateIn(BaseModel):
    """A new token: for which account, what for, and for how many days (required; at most
    the ``api_token_max_days`` setting)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100, description="What the token is for")
    days: int = Field(ge=1, le=3650, description="Lifetime in days")


class TokenOut(BaseModel):
    """A token as listed: never its secret."""

    id: int
    prefix: str
    name: str
    username: str
    role: str
    region_code: str
    state: str = Field(description="active, expired or revoked")
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreatedOut(TokenOut):
    """The new token with its secret — shown this once, never stored."""

    secret: str
