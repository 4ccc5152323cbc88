"""Every SQL statement of API tokens (issue 11 item 9)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import regions_in_scope
from kechuang.models import Region, User, utcnow
from kechuang.models.security import ApiToken


def add(session: Session, row: ApiToken) -> None:
    session.add(row)
    session.flush()


def region_path(session: Session, code: str) -> str | None:
    return session.scalar(select(Region.path).where(Region.code == code))


def token_with_user(session: Session, token_hash: str) -> Any:
    """(token, user, region path) of a token hash, or None."""
    return session.execute(
        select(ApiToken, User, Region.path)
        .join(User, User.id == ApiToken.user_id)
        .join(Region, Region.code == User.region_code)
        .where(ApiToken.token_hash == token_hash)
    ).first()


def token_in_scope(session: Session, actor: Actor, token_id: int) -> Any:
    """(token, user) of a token whose account lies in the actor's region subtree, or None."""
    return session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .join(Region, Region.code == User.region_code)
        .where(ApiToken.id == token_id, regions_in_scope(actor))
    ).first()


def tokens_in_scope(session: Session, actor: Actor, limit: int = 500) -> list[Any]:
    """(token, user) of the accounts in the actor's region subtree, newest first."""
    return list(session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .join(Region, Region.code == User.region_code)
        .where(regions_in_scope(actor))
        .order_by(ApiToken.id.desc()).limit(limit)))


def user_in_scope(session: Session, actor: Actor, user_id: int) -> User | None:
    return session.scalar(
        select(User).join(Region, Region.code == User.region_code)
        .where(User.id == user_id, regions_in_scope(actor)))


def user_by_name_in_scope(session: Session, actor: Actor, username: str) -> User | None:
    return session.scalar(
        select(User).join(Region, Region.code == User.region_code)
        .where(User.username == username, regions_in_scope(actor)))


def users_in_scope(session: Session, actor: Actor, roles: frozenset[str]) -> list[User]:
    """Active accounts of the actor's region subtree with one of ``roles``."""
    return list(session.scalars(
        select(User).join(Region, Region.code == User.region_code)
        .where(regions_in_scope(actor), User.is_active.is_(True), User.role.in_(roles))
        .order_by(User.username)))


def revoke(session: Session, row: ApiToken, by: int | None) -> int:
    """Revoke ``row`` unless already revoked (a conditional update, so two revocations at
    once record one); ``row`` is refreshed. Returns the rows changed."""
    result = session.execute(
        update(ApiToken).where(ApiToken.id == row.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_by=by))
    session.refresh(row)
    return int(result.rowcount)  # type: ignore[attr-defined]


def note_use(session: Session, token_id: int) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id)
                    .values(last_used_at=utcnow()))
