"""JSON API of precise push under ``/api/v1``: an enterprise's own messages, the bureau's
reach and conversion figures."""

from __future__ import annotations

from fastapi import APIRouter

from kechuang.push import service
from kechuang.push.schemas import KIND_LABELS, FunnelRow, MessageOut
from kechuang.web.deps import BUREAU, DB, CurrentActor, allow

router = APIRouter(tags=["push"])


@router.get("/push/messages", dependencies=[allow("enterprise")])
def my_messages(db: DB, actor: CurrentActor) -> list[MessageOut]:
    """The enterprise's own inbox, newest first (reading it here does not mark it opened)."""
    return [MessageOut(id=m.id, policy_id=m.policy_id, period=m.period, kind=m.kind,
                       kind_label=KIND_LABELS.get(m.kind, m.kind), title=m.title, body=m.body,
                       gap=m.gap, link=m.link, created_at=m.created_at, opened_at=m.opened_at,
                       applied_at=m.applied_at, granted_at=m.granted_at)
            for m in service.inbox(db, actor)]


@router.get("/push/funnel", dependencies=[allow(BUREAU)])
def funnel(db: DB, actor: CurrentActor) -> list[FunnelRow]:
    """Pushed → opened → applied → granted per policy and kind, over the enterprises in the
    actor's region; rates are over pushed (null when nothing was pushed)."""
    return service.funnel(db, actor)
