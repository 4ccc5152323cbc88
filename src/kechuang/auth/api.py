"""JSON API of accounts: who am I."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from kechuang.web.deps import EVERYONE, CurrentActor, allow

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
