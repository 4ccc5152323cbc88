"""Registries: demands and achievements through the do_* services — field rules with Chinese
messages, exact money, the status workflow, audit rows and who sees what."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.kit.errors import Conflict, InvalidInput, NotFound
from kechuang.matching import repository as repo
from kechuang.matching import service
from kechuang.models import Enterprise
from kechuang.models.matching import Achievement, TechDemand
from tests.matching.helpers import (
    achievement_data,
    actor,
    add_enterprise_account,
    audit_actions,
    demand_data,
)
from tests.support.seed import uscc


def test_enterprise_posts_a_demand_with_exact_money_and_an_audit_row(engine):
    with unit_of_work(engine) as s:
        d = service.do_create_demand(s, actor(s, "ent1"), demand_data(budget_max="120.123456"))
        demand_id = d.id
    with unit_of_work(engine) as s:
        d = s.get(TechDemand, demand_id)
        ent = s.scalar(select(Enterprise).where(Enterprise.uscc == uscc(1)))
        assert d.enterprise_id == ent.id and d.region_code == ent.region_code
        assert d.industry_code == ent.industry_code  # inherited when not given
        assert d.budget_min == Decimal("50") and d.budget_max == Decimal("120.123456")
        assert d.status == "open"
        assert audit_actions(s, "tech_demand") == ["matching.demand.create"]


@pytest.mark.parametrize(("data", "needle"), [
    (demand_data(title="  "), "需求名称：不能为空"),
    (demand_data(budget_min="200", budget_max="100"), "预算范围：下限 200 大于上限 100"),
    (demand_data(budget_min="-1"), "预算下限（万元）：不能为负数"),
    (demand_data(budget_max="abc"), "预算上限（万元）：应为数字"),
    (demand_data(deadline="2027-13-45"), "截止日期"),
    (demand_data(visibility="secret"), "公开范围：“secret”不是可选值"),
    (demand_data(industry_code="9999"), "行业代码：9999 不在国民经济行业分类"),
    (demand_data(title="题" * 201), "需求名称：过长：201 个字符，上限 200"),
])
def test_bad_demand_fields_are_refused_in_chinese(engine, data, needle):
    with unit_of_work(engine) as s, pytest.raises(InvalidInput) as err:
        service.do_create_demand(s, actor(s, "ent1"), data)
    assert needle in err.value.message_zh


def test_full_width_money_and_labels_are_understood(engine):
    with unit_of_work(engine) as s:
        d = service.do_create_demand(s, actor(s, "ent1"), demand_data(
            budget_min="１２．５", budget_max="１,000", visibility="仅科技局可见"))
        assert d.budget_min == Decimal("12.5") and d.budget_max == Decimal("1000")
        assert d.visibility == "bureau_only"


def test_bureau_files_for_an_enterprise_in_scope_only(engine):
    with unit_of_work(engine) as s:
        d = service.do_create_demand(s, actor(s, "staff"), demand_data(enterprise_uscc=uscc(3)))
        assert d.enterprise_id == s.scalar(select(Enterprise.id).where(
            Enterprise.uscc == uscc(3)))
    with unit_of_work(engine) as s, pytest.raises(NotFound):
        # 常熟's enterprise is outside 张家港's bureau
        service.do_create_demand(s, actor(s, "staff"),
                                 demand_data(enterprise_uscc=uscc(5, "320581")))
    with unit_of_work(engine) as s, pytest.raises(InvalidInput, match="企业信用代码"):
        service.do_create_demand(s, actor(s, "staff"), demand_data())


def test_status_workflow_allows_only_its_transitions_and_audits_each(engine):
    with unit_of_work(engine) as s:
        ent1 = actor(s, "ent1")
        d = service.do_create_demand(s, ent1, demand_data())
        service.do_transition_demand(s, ent1, d.id, "matched")
        service.do_transition_demand(s, ent1, d.id, "in_cooperation")
        with pytest.raises(Conflict, match="不能从“合作中”改为“征集中”"):
            service.do_transition_demand(s, ent1, d.id, "open")
        service.do_transition_demand(s, ent1, d.id, "solved")
        with pytest.raises(Conflict):
            service.do_transition_demand(s, ent1, d.id, "closed")
        with pytest.raises(Conflict, match="不能修改"):
            service.do_update_demand(s, ent1, d.id, demand_data(title="改"))
        assert audit_actions(s, "tech_demand") == ["matching.demand.create"] + [
            "matching.demand.status"] * 3


def test_only_owner_and_bureau_change_a_demand(engine):
    add_enterprise_account(engine)
    with unit_of_work(engine) as s:
        d = service.do_create_demand(s, actor(s, "ent1"), demand_data())
        demand_id = d.id
    with unit_of_work(engine) as s, pytest.raises(NotFound):
        service.do_transition_demand(s, actor(s, "ent2"), demand_id, "closed")
    with unit_of_work(engine) as s, pytest.raises(NotFound):
        service.do_transition_demand(s, actor(s, "other_admin"), demand_id, "closed")
    with unit_of_work(engine) as s:
        service.do_transition_demand(s, actor(s, "admin"), demand_id, "closed")


def test_demand_visibility(engine):
    add_enterprise_account(engine)
    with unit_of_work(engine) as s:
        ent1 = actor(s, "ent1")
        public = service.do_create_demand(s, ent1, demand_data(title="公开需求"))
        hidden = service.do_create_demand(s, ent1, demand_data(title="内部需求",
                                                               visibility="bureau_only"))
        ids = {public.id, hidden.id}

    def seen(username: str) -> set[int]:
        with unit_of_work(engine) as s:
            from kechuang.auth.actor import Actor

            who = Actor.public() if username == "public" else actor(s, username)
            return set(s.scalars(select(TechDemand.id).where(repo.demand_visible(who)))) & ids

    assert seen("public") == {public.id}
    assert seen("inst") == {public.id}
    assert seen("ent2") == {public.id}
    assert seen("ent1") == ids
    assert seen("staff") == ids
    assert seen("other_admin") == set()  # another county's bureau


def test_achievement_by_institute_gets_a_code_and_a_field(engine):
    with unit_of_work(engine) as s:
        a = service.do_create_achievement(s, actor(s, "inst"), achievement_data())
        assert a.code.startswith("ACH-") and a.owner_kind == "institute"
        assert a.tech_field == "materials"  # 陶瓷, 材料 … by the field map's keywords
        assert a.transfer_modes == ["许可", "合作开发"] and a.trl == 6
        assert a.price_min == Decimal("30")
        with pytest.raises(Conflict, match="成果编号：.* 已存在"):
            service.do_create_achievement(s, actor(s, "inst"), achievement_data(code=a.code))
        assert audit_actions(s, "achievement") == ["matching.achievement.create"]


@pytest.mark.parametrize(("data", "needle"), [
    (achievement_data(transfer_modes="出售"), "转化方式：“出售”不是可选值"),
    (achievement_data(maturity="概念"), "成熟度：“概念”不是可选值"),
    (achievement_data(trl="12"), "技术就绪度 TRL：应为 1 到 9 之间的整数"),
    (achievement_data(code="a b"), "成果编号：只能含字母、数字"),
    (achievement_data(price_min="1e12"), "价格下限（万元）：超过上限"),
])
def test_bad_achievement_fields(engine, data, needle):
    with unit_of_work(engine) as s, pytest.raises(InvalidInput) as err:
        service.do_create_achievement(s, actor(s, "inst"), data)
    assert needle in err.value.message_zh


def test_achievement_visibility_owner_and_roles(engine):
    with unit_of_work(engine) as s:
        a = service.do_create_achievement(s, actor(s, "inst"),
                                          achievement_data(visibility="bureau_only"))
        aid = a.id
    with unit_of_work(engine) as s:
        assert repo.get_achievement(s, actor(s, "inst"), aid).id == aid
        assert repo.get_achievement(s, actor(s, "staff"), aid).id == aid
        for who in ("ent1", "expert", "bank", "other_admin"):
            with pytest.raises(NotFound):
                repo.get_achievement(s, actor(s, who), aid)
        with pytest.raises(NotFound):
            service.do_set_achievement_visibility(s, actor(s, "ent1"), aid, "public")
        service.do_set_achievement_visibility(s, actor(s, "inst"), aid, "public")
    with unit_of_work(engine) as s:
        assert repo.get_achievement(s, actor(s, "ent1"), aid).visibility == "public"
        assert s.get(Achievement, aid).updated_at is not None
