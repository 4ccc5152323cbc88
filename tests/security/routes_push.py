"""Matrix rows of kechuang.push: the inbox and its actions for the enterprise itself; the
funnel, grants and export for the bureau."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.models import Enterprise
from kechuang.models.push import PushBatch, PushMessage
from tests.support.seed import uscc

BUREAU = {"bureau_admin", "bureau_staff"}
ENTERPRISE = {"enterprise"}

ROUTES: dict[str, set[str]] = {
    "GET /push/inbox": ENTERPRISE,
    "POST /push/messages/{message_id}/apply": ENTERPRISE,
    "POST /push/mutes": ENTERPRISE,
    "POST /push/mutes/{policy_id}/delete": ENTERPRISE,
    "GET /push": BUREAU,
    "GET /push/messages": BUREAU,
    "POST /push/messages/{message_id}/grant": BUREAU,
    "POST /push/export": BUREAU,
    "GET /api/v1/push/messages": ENTERPRISE,
    "GET /api/v1/push/funnel": BUREAU,
    "GET /push/batches": BUREAU,
    "GET /push/batches/{batch_id}": BUREAU,
    "POST /push/batches/{batch_id}/send": BUREAU,
    "POST /push/batches/{batch_id}/discard": BUREAU,
    "GET /api/v1/push/batches": BUREAU,
    "GET /api/v1/push/batches/{batch_id}": BUREAU,
    "POST /api/v1/push/batches/{batch_id}/send": BUREAU,
    "POST /api/v1/push/batches/{batch_id}/discard": BUREAU,
}


def samples(session: Session) -> dict[str, str]:
    """A message to enterprise 1 of 张家港 (ent1's own), and a draft batch of 张家港."""
    eid = session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc(1)))
    batch = PushBatch(source="policy", policy_id="hte", period=2024, region_code="320582",
                      status="draft", counts={"newly_eligible": 1}, created_by="test")
    session.add(batch)
    session.flush()
    session.add(PushMessage(enterprise_id=eid, policy_id="tech_sme", period=2024,
                            kind="newly_eligible", verdict="eligible", source="policy",
                            title="科技型中小企业：新符合条件", body="草稿",
                            sms_text="【科创】草稿",
                            link=f"/enterprises/{uscc(1)}", batch_id=batch.id, status="draft"))
    msg = PushMessage(enterprise_id=eid, policy_id="hte", period=2024, kind="newly_eligible",
                      verdict="eligible", source="policy", title="高新技术企业认定：新符合条件",
                      body="测试消息", sms_text="【科创】测试", link=f"/enterprises/{uscc(1)}")
    session.add(msg)
    session.flush()
    return {"message_id": str(msg.id), "policy_id": "hte", "batch_id": str(batch.id)}
