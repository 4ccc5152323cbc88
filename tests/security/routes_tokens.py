"""Matrix rows of API tokens (issue 11 item 9): only bureau administrators manage them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.models import User, utcnow
from kechuang.models.security import ApiToken

ADMIN = {"bureau_admin"}

ROUTES: dict[str, set[str]] = {
    "GET /api-tokens": ADMIN,
    "POST /api-tokens": ADMIN,
    "POST /api-tokens/{token_id}/revoke": ADMIN,
    "GET /api/v1/api-tokens": ADMIN,
    "POST /api/v1/api-tokens": ADMIN,
    "POST /api/v1/api-tokens/{token_id}/revoke": ADMIN,
}


def samples(session: Session) -> dict[str, str]:
    """An active token of 张家港's tax department account."""
    tax = session.scalar(select(User).where(User.username == "tax"))
    assert tax is not None
    row = ApiToken(user_id=tax.id, name="税务局数据接口", prefix="kct_sample00",
                   token_hash="0" * 64, expires_at=utcnow() + timedelta(days=30))
    session.add(row)
    session.flush()
    return {"token_id": str(row.id)}
