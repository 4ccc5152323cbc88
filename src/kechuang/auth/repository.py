"""Every SQL statement of accounts, sessions, login evidence, the second factor and security
events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.db import savepoint
from kechuang.models import (
    Enterprise,
    ImportBatch,
    LoginAttempt,
    LoginSession,
    Region,
    User,
    utcnow,
)
from kechuang.models.security import LoginChallenge, SecurityEvent, TotpCredential

# --------------------------------------------------------------------------- accounts


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def username_taken(session: Session, username: str) -> bool:
    return session.scalar(select(User.id).where(User.username == username)) is not None


def region(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def region_path(session: Session, code: str | None) -> str | None:
    if code is None:
        return None
    return session.scalar(select(Region.path).where(Region.code == code))


def add(session: Session, row: Any) -> None:
    session.add(row)
    session.flush()


# --------------------------------------------------------------------------- sessions


def session_with_user(session: Session, token_hash: str) -> Any:
    return session.execute(
        select(LoginSession, User, Region.path)
        .join(User, User.id == LoginSession.user_id)
        .join(Region, Region.code == User.region_code)
        .where(LoginSession.token_hash == token_hash)
    ).first()


def revoke_session(session: Session, token_hash: str) -> int:
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == token_hash, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def revoke_user_sessions(session: Session, user_id: int, *, keep: str | None = None) -> int:
    """Revoke every open session of a user, except the one whose hash is ``keep``."""
    query = (update(LoginSession)
             .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None)))
    if keep is not None:
        query = query.where(LoginSession.token_hash != keep)
    result = session.execute(query.values(revoked_at=utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- login evidence


def add_failed_attempt(session: Session, username: str, ip: str) -> None:
    session.add(LoginAttempt(username=username, ip=ip))


def failures(session: Session, *, since: datetime, username: str | None = None,
             ip: str | None = None) -> int:
    query = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= since)
    if username is not None:
        query = query.where(LoginAttempt.username == username)
    if ip is not None:
        query = query.where(LoginAttempt.ip == ip)
    return session.scalar(query) or 0


def last_success(session: Session, username: str, ip: str | None = None) -> datetime | None:
    query = select(func.max(SecurityEvent.at)).where(SecurityEvent.kind == "login.ok",
                                                     SecurityEvent.username == username)
    if ip is not None:
        query = query.where(SecurityEvent.ip == ip)
    return session.scalar(query)


# --------------------------------------------------------------------------- second factor


def totp_of(session: Session, user_id: int) -> TotpCredential | None:
    return session.get(TotpCredential, user_id)


def totp_enabled(session: Session, user_id: int) -> bool:
    return session.scalar(select(TotpCredential.enabled_at)
                          .where(TotpCredential.user_id == user_id)) is not None


def use_totp_step(session: Session, user_id: int, step: int) -> bool:
    """Record ``step`` as used, atomically; False when it (or a later one) was used already
    — a second request with the same code loses the race on the row."""
    result = session.execute(
        update(TotpCredential)
        .where(TotpCredential.user_id == user_id,
               (TotpCredential.last_step.is_(None)) | (TotpCredential.last_step < step))
        .values(last_step=step))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def fresh_totp(session: Session, user_id: int, secret: str) -> TotpCredential:
    """The user's credential set to a new, unconfirmed ``secret`` — created if missing. Two
    concurrent starts both succeed (the insert runs in a savepoint; the loser updates)."""
    row = session.get(TotpCredential, user_id)
    if row is None:
        try:
            with savepoint(session):
                row = TotpCredential(user_id=user_id, secret=secret)
                session.add(row)
            return row
        except IntegrityError:
            row = session.get(TotpCredential, user_id, populate_existing=True)
            assert row is not None
    row.secret, row.last_step, row.enabled_at = secret, None, None
    session.flush()
    return row


def delete_totp(session: Session, user_id: int) -> None:
    row = session.get(TotpCredential, user_id)
    if row is not None:
        session.delete(row)
        session.flush()


def challenge(session: Session, token_hash: str) -> LoginChallenge | None:
    return session.get(LoginChallenge, token_hash)


# --------------------------------------------------------------------------- security events


def add_security_event(session: Session, **values: Any) -> None:
    session.add(SecurityEvent(**values))


# --------------------------------------------------------------------------- pages


def ping(session: Session) -> None:
    session.execute(select(1))


def home_counts(session: Session, actor: Actor) -> dict[str, int]:
    return {
        "enterprises": session.scalar(select(func.count()).select_from(Enterprise)
                                      .where(enterprise_visible(actor))) or 0,
        "batches": session.scalar(select(func.count()).select_from(ImportBatch)) or 0,
    }


def enterprise_id_of(session: Session, uscc: str) -> int | None:
    """The enterprise an enterprise account is bound to, by credit code."""
    return session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
