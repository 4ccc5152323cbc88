"""Audit rows, written in the same transaction as the change they record."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def _default(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, set | tuple):
        return list(v)
    raise TypeError(type(v).__name__)


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    region_code: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            actor_id=actor.user_id,
            actor=actor.username,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            region_code=region_code,
            before=_jsonable(before),
            after=_jsonable(after),
            ip=actor.ip,
        )
    )
