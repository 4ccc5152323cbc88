"""JSON API of policy results under ``/api/v1``: one enterprise's latest verdicts, with the
same scope as the enterprise detail (the bureau in its region, the enterprise itself;
anyone else gets 404)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from kechuang.policy import service
from kechuang.policy.views import SECTION_ROLES
from kechuang.web.deps import DB, CurrentActor, allow

router = APIRouter(tags=["policies"])


class FailedConditionOut(BaseModel):
    leaf_id: str
    label: str
    clause: str
    value: Any
    gap: str | None


class ConditionOut(BaseModel):
    leaf_id: str
    label: str
    clause: str
    value: Any
    failed: bool


class EnterprisePolicyOut(BaseModel):
    """One policy's latest verdict for one enterprise."""

    policy_id: str
    policy_name: str
    document: str
    article: str | None
    run_id: int
    as_of: str
    eval_year: int
    verdict: str
    verdict_label: str
    score: float | None
    score_min: float | None
    score_max: float | None
    pass_mark: float | None
    failed: list[FailedConditionOut]
    missing: list[str]
    conditions: list[ConditionOut]
    note: str | None


@router.get("/enterprises/{uscc}/policies", dependencies=[allow(*SECTION_ROLES)])
def enterprise_policies(db: DB, actor: CurrentActor, uscc: str) -> list[EnterprisePolicyOut]:
    """The latest run's result of every policy for one enterprise: verdict (eligible,
    ineligible, insufficient_data, likely, borderline) with its Chinese label, score
    interval, failed conditions with their clause and gap sentence, missing inputs."""
    return [EnterprisePolicyOut.model_validate(item.as_dict())
            for item in service.enterprise_policies(db, actor, uscc)]
