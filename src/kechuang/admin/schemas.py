"""Shapes of the administration pages: audit-log filters and readable audit rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator

AUDIT_PER_PAGE = 50


class AuditFilters(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: str = Field(default="", max_length=64)
    user: str = Field(default="", max_length=100)
    date_from: date | None = None
    date_to: date | None = None
    page: int = Field(default=1, ge=1, le=1_000_000)

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if v in ("", None) else v

    def query_string(self, page: int | None = None) -> str:
        params = {k: str(v) for k, v in (("action", self.action), ("user", self.user),
                                         ("date_from", self.date_from or ""),
                                         ("date_to", self.date_to or "")) if v}
        target = self.page if page is None else page
        if target > 1:
            params["page"] = str(target)
        return urlencode(params)


class SecurityFilters(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str = Field(default="", max_length=48)
    user: str = Field(default="", max_length=100)
    ip: str = Field(default="", max_length=64)
    path: str = Field(default="", max_length=300)
    status: int | None = Field(default=None, ge=100, le=599)
    date_from: date | None = None
    date_to: date | None = None
    page: int = Field(default=1, ge=1, le=1_000_000)

    @field_validator("date_from", "date_to", "status", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if v in ("", None) else v

    def query_string(self, page: int | None = None) -> str:
        params = {k: str(v) for k, v in (("kind", self.kind), ("user", self.user),
                                         ("ip", self.ip), ("path", self.path),
                                         ("status", self.status or ""),
                                         ("date_from", self.date_from or ""),
                                         ("date_to", self.date_to or "")) if v}
        target = self.page if page is None else page
        if target > 1:
            params["page"] = str(target)
        return urlencode(params)


@dataclass
class SecurityRow:
    id: int
    at: datetime
    kind: str
    username: str | None
    ip: str | None
    method: str | None
    path: str | None
    status: int | None
    detail_text: str


@dataclass
class SecurityPage:
    total: int
    page: int
    pages: int
    items: list[SecurityRow]


@dataclass
class Change:
    key: str
    before: str | None
    after: str | None


@dataclass
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    region_code: str | None
    ip: str | None
    changes: list[Change]


@dataclass
class AuditPage:
    total: int
    page: int
    pages: int
    items: list[AuditRow]
