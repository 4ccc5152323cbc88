"""JSON API of precise push under ``/api/v1``: an enterprise's own messages, the bureau's
reach and conversion figures."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kechuang.push import service
from kechuang.push.schemas import (
    KIND_LABELS,
    BatchItemOut,
    BatchOut,
    FunnelRow,
    MessageOut,
    SendBatchIn,
)
from kechuang.web.deps import BUREAU, DB, CurrentActor, RowId, allow

router = APIRouter(tags=["push"])


@router.get("/push/messages", dependencies=[allow("enterprise")])
def my_messages(db: DB, actor: CurrentActor) -> list[MessageOut]:
    """The enterprise's own inbox, newest first (reading it here does not mark it opened)."""
    return [MessageOut(id=m.id, policy_id=m.policy_id, period=m.period, kind=m.kind,
                       kind_label=KIND_LABELS.get(m.kind, m.kind), title=m.title, body=m.body,
                       gap=m.gap, benefit=m.benefit, link=m.link, created_at=m.created_at,
                       opened_at=m.opened_at,
                       applied_at=m.applied_at, granted_at=m.granted_at)
            for m in service.inbox(db, actor)]


@router.get("/push/funnel", dependencies=[allow(BUREAU)])
def funnel(db: DB, actor: CurrentActor) -> list[FunnelRow]:
    """Pushed → opened → applied → granted per policy and kind, over the enterprises in the
    actor's region; rates are over pushed (null when nothing was pushed)."""
    return service.funnel(db, actor)


class BatchDetailOut(BaseModel):
    batch: BatchOut
    items: list[BatchItemOut]


class DiscardIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


@router.get("/push/batches", dependencies=[allow(BUREAU)])
def batches(db: DB, actor: CurrentActor, status: str | None = None) -> list[BatchOut]:
    """Push batches in the actor's region, newest first; ``status``: draft (waiting for
    review: in no inbox yet), sent, discarded."""
    return service.batches(db, actor, status if status in ("draft", "sent", "discarded")
                           else None)


@router.get("/push/batches/{batch_id}", dependencies=[allow(BUREAU)])
def batch(db: DB, actor: CurrentActor, batch_id: RowId) -> BatchDetailOut:
    """One batch with its messages: who, which message, why (verdict, gap, benefit)."""
    b, items = service.batch_detail(db, actor, batch_id)
    return BatchDetailOut(batch=b, items=items)


@router.post("/push/batches/{batch_id}/send", dependencies=[allow(BUREAU)])
def send_batch(db: DB, actor: CurrentActor, batch_id: RowId, body: SendBatchIn) -> BatchOut:
    """Send a draft batch: drop the listed messages, replace the edited texts, deliver the
    rest to the enterprises' inboxes — one audited action."""
    return service.do_send_batch(db, actor, batch_id, body)


@router.post("/push/batches/{batch_id}/discard", dependencies=[allow(BUREAU)])
def discard_batch(db: DB, actor: CurrentActor, batch_id: RowId, body: DiscardIn) -> BatchOut:
    """Send nothing of a draft batch (the reason is audited)."""
    return service.do_discard_batch(db, actor, batch_id, body.reason)
