"""JSON API of accounts: who am I, and the API tokens of department systems."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from kechuang.auth import tokens
from kechuang.auth.schemas import TokenCreatedOut, TokenCreateIn, TokenOut
from kechuang.web.deps import DB, EVERYONE, CurrentActor, RowId, allow

router = APIRouter(tags=["accounts"])


class Me(BaseModel):
    username: str
    role: str
    region_code: str | None
    enterprise_id: int | None = None
    display_name: str


@router.get("/me", dependencies=[allow(EVERYONE)], response_model=Me)
def me(actor: CurrentActor) -> Me:
    return Me(username=actor.username, role=actor.role, region_code=actor.region_code,
              enterprise_id=actor.enterprise_id, display_name=actor.display_name)


# --------------------------------------------------------------------------- API tokens
# Bureau administrators manage the tokens of department systems (issue 11 item 9); the
# token's own use is in kechuang.web.deps (``Authorization: Bearer``).

ADMIN = "bureau_admin"


@router.get("/api-tokens", dependencies=[allow(ADMIN)], response_model=list[TokenOut])
def api_tokens(db: DB, actor: CurrentActor) -> list[TokenOut]:
    """The tokens of the accounts of your region, newest first (never their secrets)."""
    return tokens.list_tokens(db, actor)


@router.post("/api-tokens", dependencies=[allow(ADMIN)], response_model=TokenCreatedOut,
             status_code=201)
def api_create_token(db: DB, actor: CurrentActor, body: TokenCreateIn) -> TokenCreatedOut:
    """Make a token for an account of your region; ``secret`` is in this answer only."""
    return tokens.do_create_token(db, actor, username=body.username, name=body.name,
                                  days=body.days)


@router.post("/api-tokens/{token_id}/revoke", dependencies=[allow(ADMIN)],
             response_model=TokenOut)
def api_revoke_token(db: DB, actor: CurrentActor, token_id: RowId) -> TokenOut:
    """Revoke a token: its next request is refused."""
    return tokens.do_revoke_token(db, actor, token_id)
