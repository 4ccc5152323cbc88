"""A review scene in the seeded county: six experts (one working for an applicant, one
unavailable), and a helper that emits ``programs.review_requested`` as programs would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit import events
from kechuang.kit.seams import ReviewParty, ReviewRequest, ReviewSubject
from kechuang.models import Expert, Region, User
from kechuang.models.review import ReviewExpertProfile

EXPERTS = {
    # key: (name, fields, affiliation, load cap, available)
    "chip": ("林芯片", ["集成电路", "芯片封装", "半导体"], "东南大学", 2, True),
    "chip2": ("周封装", ["芯片封装", "集成电路", "良率"], "南京大学", 2, True),
    "bat": ("陈电池", ["锂离子电池", "隔膜", "正极材料"], "苏州大学", 2, True),
    "mat": ("吴材料", ["新材料", "隔膜", "涂层"], "常州大学", 2, True),
    "inhouse": ("孙内部", ["集成电路", "芯片封装"], "张家港华芯微电子有限公司", 3, True),
    "away": ("郑出差", ["集成电路", "锂离子电池"], "江南大学", 3, False),
    "soft": ("冯软件", ["软件", "数据平台", "集成电路"], "江苏大学", 3, True),
}


@dataclass
class Scene:
    experts: dict[str, int]


def actor_of(session, username: str) -> Actor:  # type: ignore[no-untyped-def]
    u = session.scalar(select(User).where(User.username == username))
    path = session.scalar(select(Region.path).where(Region.code == u.region_code))
    return Actor(username=u.username, role=u.role, region_code=u.region_code, region_path=path,
                 user_id=u.id, expert_id=u.expert_id, display_name=u.username)


def expert_actor(expert_id: int) -> Actor:
    return Actor(username=f"expert{expert_id}", role="expert", region_code="320582",
                 region_path="/320000/320500/320582/", expert_id=expert_id)


@pytest.fixture
def scene(engine: Engine) -> Scene:
    with unit_of_work(engine) as s:
        ids = {}
        for i, (key, (name, fields, aff, cap, avail)) in enumerate(EXPERTS.items()):
            e = Expert(code=f"RV-{i}", name=name, region_code="320582", fields=fields,
                       conflicts=[])
            s.add(e)
            s.flush()
            s.add(ReviewExpertProfile(expert_id=e.id, keywords=fields, discipline_codes=[],
                                      affiliation=aff, collaborations=[], available=avail,
                                      load_cap=cap))
            ids[key] = e.id
        # the seed's expert 王工 is left without a review profile and made unavailable here
        seed = s.scalar(select(Expert).where(Expert.code == "EXP-1"))
        s.add(ReviewExpertProfile(expert_id=seed.id, keywords=[], discipline_codes=[],
                                  affiliation="", collaborations=[], available=False,
                                  load_cap=0))
        ids["seed"] = seed.id
        return Scene(ids)


def request(call_id: int = 501, *, due_days: int = 7, budget: str = "100",
            subjects: list[ReviewSubject] | None = None) -> ReviewRequest:
    subjects = subjects or [
        ReviewSubject(subject_id=11, title="芯片封装空洞检测", text="集成电路 芯片封装 良率",
                      requested_amount=Decimal("50"),
                      parties=[ReviewParty(org_type="enterprise", name="张家港华芯微电子有限公司",
                                           region_code="320582")]),
        ReviewSubject(subject_id=12, title="锂离子电池隔膜涂层", text="锂离子电池 隔膜 涂层",
                      requested_amount=Decimal("40"),
                      parties=[ReviewParty(org_type="enterprise",
                                           name="张家港沙洲新材料股份有限公司")]),
        ReviewSubject(subject_id=13, title="集成电路测试数据平台", text="集成电路 软件 数据平台",
                      requested_amount=Decimal("30"),
                      parties=[ReviewParty(org_type="enterprise",
                                           name="张家港智能软件科技有限公司")],
                      named_people=["周封装"]),
    ]
    return ReviewRequest(call_id=call_id, call_code=f"C{call_id}", call_title="揭榜挂帅 2026",
                         region_code="320582", rubric_id="default", budget=Decimal(budget),
                         due=datetime.now(UTC) + timedelta(days=due_days), subjects=subjects)


def emit_request(engine: Engine, req: ReviewRequest) -> int:
    from kechuang.review import repository  # noqa: PLC0415  (test helper)

    with unit_of_work(engine) as s:
        events.emit("programs.review_requested", session=s, actor=Actor.command_line(),
                    request=req)
        r = repository.round_by_call(s, req.call_id, req.stage)
        assert r is not None
        return r.id
