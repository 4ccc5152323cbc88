"""Security events (ASVS V7), the TOTP second factor and pending logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.models.base import Base, utcnow


class SecurityEvent(Base):
    """One security-relevant event: a login (successful or not), a refused request
    (401/403/404/429), a CSRF failure, an export holding credit codes, a report download,
    a password or second-factor change.

    Written in its own short transaction, so that it survives the rollback of the request
    it records. Login evidence is kept (never deleted on a successful login).
    """

    __tablename__ = "security_event"
    __table_args__ = (
        Index("ix_security_event_at", "at"),
        Index("ix_security_event_kind_at", "kind", "at"),
        Index("ix_security_event_user_ip", "username", "ip", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(48))
    username: Mapped[str | None] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[str | None] = mapped_column(String(16))
    region_code: Mapped[str | None] = mapped_column(String(12))
    ip: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(8))
    path: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[int | None] = mapped_column()
    detail: Mapped[dict | None] = mapped_column()


class TotpCredential(Base):
    """An account's TOTP secret (RFC 6238). ``enabled_at`` is set once a code has been
    confirmed; ``last_step`` stops a code from being used twice."""

    __tablename__ = "totp_credential"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enabled_at: Mapped[datetime | None] = mapped_column()
    last_step: Mapped[int | None] = mapped_column()


class LoginChallenge(Base):
    """A password that was right, waiting for the second factor (or its enrolment).

    The browser holds a random token in a cookie; only its hash is stored."""

    __tablename__ = "login_challenge"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(8))  # "verify" | "enrol"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    failures: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A token a department's system sends as ``Authorization: Bearer kct_…`` (issue 11
    item 9).

    Made by a bureau administrator for one account of their region; it acts as that account
    (role, region and party read afresh at every use, so a deactivated account or a changed
    role takes effect at once), only on the JSON API, until ``expires_at`` (required, at most
    ``api_token_max_days``) or ``revoked_at``. Only the SHA-256 of the secret is stored: the
    secret is 256 random bits, so a fast hash cannot be brute-forced and needs no salt or
    key (rotating ``secret_key`` does not silently invalidate every department's token).
    ``prefix`` (the secret's first 12 characters) tells tokens apart in lists and audit
    rows; every use is an ``api_token.use`` audit row."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    last_used_at: Mapped[datetime | None] = mapped_column()
