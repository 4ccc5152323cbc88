"""The labelled demo demands (``matching/data/labelled_demands.yaml``): the answerable ones
get their known achievement first, as a strong match; the unanswerable ones get no strong
match, and their page says so and offers the next steps instead of ranking junk."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.rules import RuleFileError, loads
from kechuang.matching import confidence, workflow
from kechuang.matching.demo import LabelledDemands, achievement_rows, labelled_demands, load_demo
from kechuang.models.matching import TechDemand
from tests.matching.helpers import actor


def test_demo_titles_are_listed_once():
    titles = [r[1] for r in achievement_rows()]
    assert len(titles) == len(set(titles))


def test_every_labelled_demand_gets_its_known_answer_or_none(engine):
    with unit_of_work(engine) as s:
        load_demo(s, seed=7, county_code="320582", today=date(2026, 6, 1))
    cases = labelled_demands()
    assert sum(c.abstain for c in cases) >= 3 and sum(not c.abstain for c in cases) >= 6
    wrong = []
    with unit_of_work(engine) as s:
        for case in cases:
            demand_id = s.scalar(select(TechDemand.id).where(TechDemand.title == case.title))
            assert demand_id is not None, case.title
            m = workflow.for_demand(s, Actor.command_line(), demand_id)
            top = m.achievements[0] if m.achievements else None
            if case.abstain:
                if m.strong:
                    wrong.append(f"{case.title}: expected no strong match, got {top}")
            elif top is None or not top.strong or not any(
                    top.title.startswith(t) for t in case.expect_top):
                wrong.append(f"{case.title}: expected {case.expect_top}, got {top}")
    assert not wrong, "\n".join(wrong)


def test_a_labelled_demand_needs_one_answer():
    with pytest.raises(RuleFileError, match="expect_top"):
        loads("demands:\n  - {title: a, description: b, targets: c}\n", LabelledDemands)
    with pytest.raises(RuleFileError, match="expect_top"):
        loads("demands:\n  - {title: a, description: b, targets: c, abstain: true, "
              "expect_top: [x]}\n", LabelledDemands)


def test_confidence_cases_hold_and_a_wrong_case_is_reported(tmp_path):
    assert [(n, ok) for n, ok, _ in confidence.run_cases()] == [
        (n, True) for n, _, _ in confidence.run_cases()]
    bad = tmp_path / "cases.yaml"
    bad.write_text("cases:\n  - {name: 低覆盖, coverage: 0.1, strong: true}\n", "utf-8")
    assert confidence.run_cases(bad) == [("低覆盖", False, "期望 expected True，实为 got False")]


def _demand(engine, username: str, title: str, description: str) -> int:  # type: ignore[no-untyped-def]
    from kechuang.matching import service
    from tests.matching.helpers import achievement_data, demand_data
    with unit_of_work(engine) as s:
        service.do_create_achievement(s, actor(s, "inst"), achievement_data())
        return service.do_create_demand(s, actor(s, username), demand_data(
            title=title, description=description, targets="")).id


def test_page_without_a_strong_match_offers_the_next_steps(client, login_as, engine):
    demand_id = _demand(engine, "ent1", "羊毛面料抗起球整理", "针织面料容易起球，封装无关。")
    login_as("ent1")
    part = client.get(f"/matching/demands/{demand_id}/matches").text
    assert 'data-testid="no-strong-match"' in part
    pct = round(100 * confidence.rule().strong_coverage)
    assert f"{pct}%" in part or f"{pct} %" in part
    steps = part.split('data-testid="next-steps"')[1].split("</ul>")[0]
    assert "/matching/achievements?q=" in steps and "/matching/services" in steps
    assert "/programs/mine" in steps  # an enterprise proposes the challenge from its page
    assert '<details data-testid="weak-candidates">' in part  # weak ones folded, not ranked
    api = client.get(f"/api/v1/matching/demands/{demand_id}/matches").json()
    assert api["strong"] is False


def test_page_with_a_strong_match_ranks_it_without_a_warning(client, login_as, engine):
    demand_id = _demand(engine, "ent1", "功率芯片封装散热", "氮化铝陶瓷封装基板导热散热。")
    login_as("ent1")
    part = client.get(f"/matching/demands/{demand_id}/matches").text
    assert 'data-testid="no-strong-match"' not in part and "weak-candidates" not in part
    assert 'data-strong="yes"' in part
    assert client.get(f"/api/v1/matching/demands/{demand_id}/matches").json()["strong"] is True
