"""JSON API of tiered cultivation under ``/api/v1`` (bureau): transitions between two
snapshot years and the cultivation pool of a tier."""

from __future__ import annotations

from fastapi import APIRouter

from kechuang.tiers import service
from kechuang.tiers.schemas import PoolRow, Transition
from kechuang.web.deps import BUREAU, DB, CurrentActor, OptYear, Year, allow

router = APIRouter(tags=["tiers"])


@router.get("/tiers/transitions", dependencies=[allow(BUREAU)])
def transitions(db: DB, actor: CurrentActor, year_from: Year, year_to: Year) -> list[Transition]:
    """Counts of enterprises moving from each tier in ``year_from`` to each tier in
    ``year_to`` (enterprises in both snapshots, in the actor's region)."""
    return service.transitions(db, actor, year_from, year_to)


@router.get("/tiers/pool", dependencies=[allow(BUREAU)])
def pool(db: DB, actor: CurrentActor, tier: str, year: OptYear = None,
         q: str | None = None) -> list[PoolRow]:
    """The cultivation pool of ``tier``: enterprises one tier below with small gaps."""
    return service.pool(db, actor, tier, year, q)
