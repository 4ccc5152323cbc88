"""Users, their login sessions, failed-login records and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.models.base import Base, utcnow

ROLES = (
    "bureau_admin",
    "bureau_staff",
    "department",
    "enterprise",
    "institute",
    "expert",
    "bank",
    "public",
)


class User(Base):
    """An account. Every account is scoped to a region subtree; some also to one party."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("expert.id"))
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("bank.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()


class LoginSession(Base):
    """A server-side session. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "login_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class LoginAttempt(Base):
    """Failed logins, counted per account and per address for rate limiting."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_user", "username", "at"),
        Index("ix_login_attempt_ip", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who did what, when, to which object, with the state before and after.

    Written in the same transaction as the change it records (``kechuang.kit.audit``);
    also written for every read of enterprise data by a bank or an expert.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    actor: Mapped[str] = mapped_column(String(100))  # username or "cli:<os user>" / "system"
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    before: Mapped[dict | None] = mapped_column()
    after: Mapped[dict | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(64))
