"""Regional indicators from the enterprise facts (county and towns/parks), uploads of values
and targets with their errors, the dashboard's progress and YoY, the rule cases."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kechuang.auth.actor import Actor
from kechuang.auth.service import actor_for_user
from kechuang.db import unit_of_work
from kechuang.kit.errors import Forbidden, InvalidInput
from kechuang.models import Region, User
from kechuang.models.monitoring import IndicatorValue
from kechuang.monitoring import service


def _actor(s, username: str) -> Actor:
    user = s.scalar(select(User).where(User.username == username))
    return actor_for_user(user, s.get(Region, user.region_code).path)


def _value(table, region: str, ind: str, year: int) -> float:
    hit = table[(table["region_code"] == region) & (table["indicator_id"] == ind)
                & (table["year"] == year)]["value"]
    return float(hit.iloc[0])


def test_computed_indicators_for_the_county_and_its_parts(mon_db) -> None:
    with unit_of_work(mon_db) as s:
        t = service.indicator_table(s, _actor(s, "admin"), "320582", [2023, 2024])
    # above scale (C/D/B, revenue ≥ 2000): 2023 → 1, 2, 3 ; 2024 → 1, 3 (2 fell to 1500)
    assert _value(t, "320582", "rd_spending_above_scale", 2024) == pytest.approx(0.03)
    assert _value(t, "320582", "rd_active_share", 2024) == pytest.approx(50.0)
    assert _value(t, "320582", "rd_active_share", 2023) == pytest.approx(100 / 3)
    assert _value(t, "320582", "tech_contract_turnover", 2024) == pytest.approx(0.1)
    assert math.isnan(_value(t, "320582", "tech_contract_turnover", 2023))  # missing ≠ 0
    assert _value(t, "320582", "hte_count", 2024) == 1  # valid on 31 Dec 2024
    assert _value(t, "320582", "tech_sme_count", 2024) == 1
    assert _value(t, "320582", "tech_sme_count", 2023) == 0
    assert _value(t, "320582", "platforms_province", 2024) == 1
    # towns and parks: 杨舍镇 has 1 and 3, the 开发区 has 2; 常熟's 5 counts nowhere here
    assert _value(t, "320582100", "rd_spending_above_scale", 2024) == pytest.approx(0.03)
    assert _value(t, "320582401", "platforms_province", 2024) == 1
    assert _value(t, "320582401", "hte_count", 2024) == 0
    assert set(t["region_code"]) >= {"320582", "320582100", "320582401", "320582001"}
    assert "320581" not in set(t["region_code"])


def test_scope_and_uploads(mon_db, tmp_path: Path) -> None:
    good = tmp_path / "v.csv"
    good.write_text("region_code,indicator_id,year,value\n320582,gdp,2024,3100.5\n"
                    "320582100,rd_intensity,2024,3.2\n", encoding="utf-8")
    with unit_of_work(mon_db) as s:
        with pytest.raises(Forbidden):
            service.indicator_table(s, _actor(s, "other_admin"), "320582", [2024])
        r = service.do_upload(s, _actor(s, "admin"), good)
        assert (r.rows, r.inserted) == (2, 2)
        r = service.do_upload(s, _actor(s, "admin"), good)
        assert (r.inserted, r.updated) == (0, 2)
    for body, where in [
        ("320582,hte_count,2024,5\n", "第 2 行 indicator_id 列"),  # computed, not uploaded
        ("320582,gdp,2024,abc\n", "第 2 行 value 列"),
        ("999999,gdp,2024,1\n", "第 2 行 region_code 列"),
        ("320582,gdp,24,1\n", "第 2 行 year 列"),
        ("320582,gdp,2024,1\n320582,gdp,2024,2\n", "第 3 行"),
    ]:
        bad = tmp_path / "bad.csv"
        bad.write_text("region_code,indicator_id,year,value\n" + body, encoding="utf-8")
        with unit_of_work(mon_db) as s, pytest.raises(InvalidInput) as err:
            service.do_upload(s, _actor(s, "admin"), bad)
        assert where in err.value.message_zh
    with unit_of_work(mon_db) as s:
        assert s.scalar(select(func.count()).select_from(IndicatorValue)) == 2
        with pytest.raises(Forbidden):  # 常熟's bureau cannot upload 张家港's values
            service.do_upload(s, _actor(s, "other_admin"), good)


def test_dashboard_progress_yoy_and_comparison(mon_db) -> None:
    with unit_of_work(mon_db) as s:
        admin = _actor(s, "admin")
        service.do_set_target(s, admin, region_code="320582", indicator_id="hte_count",
                              year=2024, target=Decimal(4))
        service.do_set_target(s, admin, region_code="320582",
                              indicator_id="rd_spending_above_scale", year=2024,
                              target=Decimal("0.06"))
        d = service.dashboard(s, admin, year=2024, compare="rd_spending_above_scale")
    cards = {c.indicator_id: c for c in d.cards}
    assert cards["hte_count"].progress == pytest.approx(0.25)
    assert cards["rd_spending_above_scale"].progress == pytest.approx(0.5)
    assert cards["rd_spending_above_scale"].yoy_change == pytest.approx(0.5)  # 0.02 → 0.03
    assert cards["gdp"].value is None and cards["gdp"].source == "uploaded"
    values = {r.region_code: r.value for r in d.regions}
    assert values["320582100"] == pytest.approx(0.03) and values["320582001"] is None
    assert d.region_name == "张家港市"


def test_rule_cases_pass() -> None:
    results = service.run_cases()
    assert results and all(not problems for _, problems in results), results
