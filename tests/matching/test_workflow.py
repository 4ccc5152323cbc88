"""The match workflow: ranked supplies for a demand and demands for an achievement, marks
with reason codes, agreements becoming cooperation records with a next step, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.kit.errors import Conflict, InvalidInput, NotFound
from kechuang.matching import service, workflow
from kechuang.models import Expert
from kechuang.models.matching import Cooperation, MatchMark, TechDemand
from tests.matching.helpers import (
    achievement_data,
    actor,
    add_enterprise_account,
    audit_actions,
    demand_data,
)


@pytest.fixture
def pair(engine):  # type: ignore[no-untyped-def]
    """A demand of ent1 and two achievements of the seed's institute (one fits)."""
    with unit_of_work(engine) as s:
        d = service.do_create_demand(s, actor(s, "ent1"), demand_data())
        inst = actor(s, "inst")
        fit = service.do_create_achievement(s, inst, achievement_data())
        off = service.do_create_achievement(s, inst, achievement_data(
            title="水稻抗倒伏品种选育", abstract="水稻育种", keywords="水稻 育种"))
        expert = s.scalar(select(Expert).where(Expert.code == "EXP-1"))
        service.do_save_expert_profile(s, inst, expert.id, {
            "expertise": "长期从事功率芯片封装散热与导热材料研究", "keywords": "封装 散热"})
        return {"demand": d.id, "fit": fit.id, "off": off.id, "expert": expert.id,
                "institute": fit.institute_id}


def test_demand_gets_ranked_achievements_experts_and_institutes(engine, pair):
    with unit_of_work(engine) as s:
        m = workflow.for_demand(s, actor(s, "ent1"), pair["demand"])
    assert [a.id for a in m.achievements] == [pair["fit"]]  # the rice paper shares no term
    assert m.achievements[0].terms and "title" in m.achievements[0].fields
    assert [e.id for e in m.experts] == [pair["expert"]]
    [inst] = m.institutes
    assert inst.id == pair["institute"]
    # the institute's score is its best hits summed (one achievement and one expert)
    assert inst.score == pytest.approx(m.achievements[0].score + m.experts[0].score)
    d = m.as_dict()
    assert d["achievements"][0]["mark"] is None and d["achievements"][0]["matched_terms"]


def test_achievement_gets_ranked_demands_and_enterprises(engine, pair):
    with unit_of_work(engine) as s:
        m = workflow.for_achievement(s, actor(s, "inst"), pair["fit"])
        assert [d.id for d in m.demands] == [pair["demand"]]
        assert m.enterprises[0].name == "张家港华芯微电子有限公司"
        assert m.enterprises[0].why == "published_demands"
        # the bureau also sees enterprises whose industry the field serves
        b = workflow.for_achievement(s, actor(s, "staff"), pair["fit"])
        assert len(b.enterprises) >= len(m.enterprises)
        assert all(r.score == 0.0 for r in b.enterprises[len(m.enterprises):])


def test_only_owner_or_bureau_see_matches(engine, pair):
    add_enterprise_account(engine)
    with unit_of_work(engine) as s:
        for who in ("ent2", "other_admin"):
            with pytest.raises(NotFound):
                workflow.for_demand(s, actor(s, who), pair["demand"])
        with pytest.raises(NotFound):
            workflow.for_achievement(s, actor(s, "ent1"), pair["fit"])
        workflow.for_demand(s, actor(s, "admin"), pair["demand"])


def test_marks_move_the_demand_and_agreement_becomes_a_cooperation(engine, pair):
    with unit_of_work(engine) as s:
        ent1 = actor(s, "ent1")
        with pytest.raises(InvalidInput, match="谢绝原因"):
            service.do_mark_match(s, ent1, pair["demand"], {
                "supply_kind": "achievement", "supply_id": pair["off"], "status": "declined"})
        mark, coop = service.do_mark_match(s, ent1, pair["demand"], {
            "supply_kind": "achievement", "supply_id": pair["off"], "status": "declined",
            "reason_code": "too_early"})
        assert coop is None and mark.reason_code == "too_early"
        assert s.get(TechDemand, pair["demand"]).status == "open"  # a refusal changes nothing
        service.do_mark_match(s, ent1, pair["demand"], {
            "supply_kind": "achievement", "supply_id": pair["fit"], "status": "contacted"})
        assert s.get(TechDemand, pair["demand"]).status == "matched"
        mark, coop = service.do_mark_match(s, ent1, pair["demand"], {
            "supply_kind": "achievement", "supply_id": pair["fit"], "status": "agreed",
            "reason_code": "price"})
        assert mark.reason_code is None  # reasons belong to refusals only
        assert coop is not None and coop.enterprise_id == s.get(
            TechDemand, pair["demand"]).enterprise_id
        assert s.get(TechDemand, pair["demand"]).status == "in_cooperation"
        with pytest.raises(Conflict, match="已达成合作"):
            service.do_mark_match(s, ent1, pair["demand"], {
                "supply_kind": "achievement", "supply_id": pair["fit"], "status": "declined",
                "reason_code": "ip"})
        service.do_set_next_step(s, ent1, coop.id, "tech_contract", "JSHT-2026-001")
        with pytest.raises(InvalidInput, match="后续事项"):
            service.do_set_next_step(s, ent1, coop.id, "lottery")
        coop_id = coop.id
    with unit_of_work(engine) as s:
        c = s.get(Cooperation, coop_id)
        assert (c.next_step, c.next_step_ref) == ("tech_contract", "JSHT-2026-001")
        assert len(s.scalars(select(MatchMark)).all()) == 2
        assert audit_actions(s, "match_mark") == ["matching.match.mark"] * 3
        assert audit_actions(s, "cooperation") == ["matching.cooperation.create",
                                                   "matching.cooperation.next_step"]
        with pytest.raises(NotFound):  # an institute sees its cooperations but cannot flag
            service.do_set_next_step(s, actor(s, "inst"), coop_id, "challenge")


def test_a_match_needs_a_public_supply_and_a_live_demand(engine, pair):
    with unit_of_work(engine) as s:
        ent1 = actor(s, "ent1")
        service.do_set_achievement_visibility(s, actor(s, "inst"), pair["off"], "bureau_only")
        with pytest.raises(NotFound):
            service.do_mark_match(s, ent1, pair["demand"], {
                "supply_kind": "achievement", "supply_id": pair["off"], "status": "contacted"})
        with pytest.raises(InvalidInput, match="匹配对象类型"):
            service.do_mark_match(s, ent1, pair["demand"], {
                "supply_kind": "robot", "supply_id": 1, "status": "contacted"})
        service.do_transition_demand(s, ent1, pair["demand"], "closed")
        with pytest.raises(Conflict):
            service.do_mark_match(s, ent1, pair["demand"], {
                "supply_kind": "expert", "supply_id": pair["expert"], "status": "contacted"})
