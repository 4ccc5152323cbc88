"""JSON API of policy results under ``/api/v1``: one enterprise's latest verdicts, with the
same scope as the enterprise detail (the bureau in its region, the enterprise itself;
anyone else gets 404)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kechuang.policy import service
from kechuang.policy.views import SECTION_ROLES
from kechuang.web.deps import DB, CurrentActor, allow

router = APIRouter(tags=["policies"])


@router.get("/enterprises/{uscc}/policies", dependencies=[allow(*SECTION_ROLES)])
def enterprise_policies(db: DB, actor: CurrentActor, uscc: str) -> list[dict[str, Any]]:
    """The latest run's result of every policy for one enterprise: verdict (eligible,
    ineligible, insufficient_data, likely, borderline) with its Chinese label, score
    interval, failed conditions with their clause and gap sentence, missing inputs."""
    return [item.as_dict() for item in service.enterprise_policies(db, actor, uscc)]
