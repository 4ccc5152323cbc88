"""A small dispatch scene in the seeded county: commissioners (one with zero capacity, one
in 常熟), open service requests of 张家港's enterprises and one of 常熟's, one declared
conflict."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.models import Enterprise, Region, User
from kechuang.models.matching import Commissioner, ConflictDeclaration, ServiceRequest


@dataclass
class Scene:
    c: dict[str, int]  # commissioner ids by key
    r: dict[str, int]  # request ids by key
    ent: dict[int, int]  # enterprise ids by seed number


COMMISSIONERS = {
    # key: (name, expertise, affiliation, capacity, region)
    "bat": ("陈电池", "锂离子电池 正极材料 隔膜 电解液", "苏州大学", 1, "320582"),
    "chip": ("林芯片", "集成电路 芯片封装 半导体工艺", "东南大学", 2, "320582"),
    "mech": ("周机械", "数控机床 精密加工 机械制造 热变形", "江苏科技大学", 2, "320582"),
    # works for the mechanics enterprise itself: a conflict by the same-organisation rule
    "inhouse": ("孙内部", "数控机床 精密加工 热变形 主轴", "张家港港城机械制造有限公司", 2,
                "320582"),
    "mech2": ("冯机床", "数控机床 精密加工 机械制造", "常州大学", 1, "320582"),
    "soft": ("吴软件", "软件工程 工业互联网 数据平台", "江南大学", 1, "320582"),
    "zero": ("郑满额", "锂离子电池 集成电路 数控机床 软件", "南京大学", 0, "320582"),
    "cs": ("钱常熟", "纺织 印染 锂离子电池", "常熟理工学院", 3, "320581"),
}


def _actor(session, username: str) -> Actor:  # type: ignore[no-untyped-def]
    u = session.scalar(select(User).where(User.username == username))
    path = session.scalar(select(Region.path).where(Region.code == u.region_code))
    return Actor(username=u.username, role=u.role, region_code=u.region_code, region_path=path,
                 user_id=u.id, display_name=u.username)


@pytest.fixture
def admin_actor(engine: Engine) -> Actor:
    with unit_of_work(engine) as s:
        return _actor(s, "admin")


@pytest.fixture
def other_actor(engine: Engine) -> Actor:
    with unit_of_work(engine) as s:
        return _actor(s, "other_admin")


@pytest.fixture
def scene(engine: Engine) -> Scene:
    with unit_of_work(engine) as s:
        ents = {i + 1: e.id for i, e in enumerate(
            s.scalars(select(Enterprise).order_by(Enterprise.id)).all())}
        ent_objs = {e.id: e for e in s.scalars(select(Enterprise)).all()}
        cs = {}
        for key, (name, exp, aff, cap, region) in COMMISSIONERS.items():
            c = Commissioner(name=name, expertise=exp, affiliation=aff, capacity=cap,
                             region_code=region)
            s.add(c)
            cs[key] = c
        reqs = {
            "chip": ServiceRequest(enterprise_id=ents[1], title="芯片封装良率提升",
                                   description="集成电路封装工艺中的空洞问题",
                                   region_code=ent_objs[ents[1]].region_code),
            "bat": ServiceRequest(enterprise_id=ents[2], title="锂离子电池隔膜改进",
                                  description="正极材料与隔膜的热稳定性",
                                  region_code=ent_objs[ents[2]].region_code),
            "mech": ServiceRequest(enterprise_id=ents[3], title="数控机床精度",
                                   description="主轴热变形导致精密加工误差",
                                   region_code=ent_objs[ents[3]].region_code),
            "soft": ServiceRequest(enterprise_id=ents[4], title="工业互联网数据平台建设",
                                   description="软件工程与数据平台", team_size=2,
                                   region_code=ent_objs[ents[4]].region_code),
            "cs": ServiceRequest(enterprise_id=ents[5], title="印染废水与纺织",
                                 description="纺织印染", region_code=ent_objs[ents[5]].region_code),
        }
        s.add_all(reqs.values())
        s.flush()
        # 林芯片 declared a conflict with enterprise 1 (the chip request's)
        s.add(ConflictDeclaration(person_kind="commissioner", person_id=cs["chip"].id,
                                  enterprise_id=ents[1], reason="亲属任职"))
        return Scene({k: c.id for k, c in cs.items()}, {k: r.id for k, r in reqs.items()}, ents)
