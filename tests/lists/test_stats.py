"""Yearly statistics: participants, growth of points over consecutive years, and the shares
of the "四个90%", each computed here by hand from the rows the test writes."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.kit.errors import NotFound
from kechuang.lists.stats import yearly_stats
from kechuang.models import Enterprise
from tests.lists.helpers import add_fact, enterprise_id, make_run
from tests.lists.test_publish_and_pages import actor_of


def _series(s, *, publish_2023: bool = True):  # type: ignore[no-untyped-def]
    # 2021: 1, 2 scored; 2022: 1, 2, 3 (3 vetoed); 2023: 1, 3, 4 ; 2019 (a gap year): 1
    make_run(s, [(1, 50.0, "成长", "lead", None)], year=2019, published=True, version="1.0")
    make_run(s, [(1, 40.0, "成长", "lead", None), (2, 60.0, "成长", "race", None)],
             year=2021, published=True, version="1.0")
    make_run(s, [(1, 50.0, "成长", "lead", None), (2, 66.0, "成长", "race", None),
                 (3, 10.0, "初创", None, "严重失信")], year=2022, published=True)
    make_run(s, [(1, 55.0, "成长", "lead", None), (3, 30.0, "初创", "lead", None),
                 (4, 20.0, "初创", None, None)], year=2023, published=publish_2023)
    # an unpublished later re-run of 2022 with other numbers: ignored unless asked for
    make_run(s, [(1, 500.0, "成长", "lead", None)], year=2022)
    for n in (1, 3):
        s.get(Enterprise, enterprise_id(s, n)).rd_institution_level = "city"
    s.get(Enterprise, enterprise_id(s, 4)).rd_institution_level = "none"
    add_fact(s, 1, "rd_expense", 2023, "120.5")
    add_fact(s, 3, "rd_expense", 2023, "0")  # zero spending does not count
    add_fact(s, 4, "rd_expense", 2022, "10")  # another year does not count
    add_fact(s, 4, "tech_contract_value", 2023, "35")


def test_yearly_statistics_by_hand(engine):
    with unit_of_work(engine) as s:
        _series(s)
        report = yearly_stats(s, None, "zjg-points")
    years = {y.year: y for y in report.years}
    assert list(years) == [2019, 2021, 2022, 2023]
    assert [years[y].participants for y in years] == [1, 2, 3, 3]
    assert report.participations == 9 and report.enterprises == 4
    assert years[2022].vetoed == 1 and years[2022].listed == 2
    # 2019 → 2021 is not consecutive: no growth
    assert years[2021].growth is None
    # 2021 → 2022 over the panel {1, 2}: (50 + 66) / (40 + 60) − 1 = 0.16
    assert years[2022].growth == pytest.approx(0.16) and years[2022].panel == 2
    assert years[2022].version_changed  # 1.0 → 2.0
    # 2022 → 2023 over the panel {1, 3}: (55 + 30) / (50 + 10) − 1
    g23 = 85 / 60 - 1
    assert years[2023].growth == pytest.approx(g23) and years[2023].panel == 2
    assert report.avg_growth == pytest.approx(math.sqrt(1.16 * (1 + g23)) - 1)
    assert report.growth_pairs == 2
    # shares of 2023 over its 3 participants: institutions {1, 3}, spending {1},
    # cooperation (proxy: technology contracts) {4}
    y = years[2023]
    assert (y.with_rd_institution, y.with_rd_expense, y.with_cooperation) == (2, 1, 1)
    assert y.share_rd_institution == pytest.approx(2 / 3)
    assert y.share_rd_expense == pytest.approx(1 / 3)
    assert years[2022].with_rd_expense == 0  # enterprise 4 was not scored in 2022


def test_unpublished_runs_count_only_when_asked(engine):
    with unit_of_work(engine) as s:
        _series(s, publish_2023=False)
        public = yearly_stats(s, None, "zjg-points")
        assert [y.year for y in public.years] == [2019, 2021, 2022]
        bureau = yearly_stats(s, actor_of(s, "admin"), "zjg-points", published_only=False)
        years = {y.year: y for y in bureau.years}
        assert years[2022].participants == 1  # the latest (unpublished) re-run of 2022
        assert not years[2022].published
        upto = yearly_stats(s, None, "zjg-points", year=2021)
        assert [y.year for y in upto.years] == [2019, 2021]
        with pytest.raises(NotFound):
            yearly_stats(s, None, "no-such-system")


def test_a_neighbouring_county_sees_no_statistics_of_ours(engine, client, login_as):
    with unit_of_work(engine) as s:
        _series(s)
        with pytest.raises(NotFound):
            yearly_stats(s, actor_of(s, "other_admin"), "zjg-points")
    login_as("other_admin")
    page = client.get("/lists/stats?system=zjg-points")
    assert page.status_code == 200 and 'data-testid="no-stats"' in page.text
    assert 'data-testid="participations"' not in page.text


def test_stats_page_and_api(engine, client, login_as):
    with unit_of_work(engine) as s:
        _series(s)
    login_as("staff")
    page = client.get("/lists/stats?system=zjg-points")
    assert page.status_code == 200
    assert 'data-testid="participations">9<' in page.text
    assert "/static/lists-stats.js" in page.text
    js = client.get("/static/lists-stats.js")
    assert js.status_code == 200 and "echarts.init" in js.text
    chart = page.text.split('data-lists-stats="')[1].split('"')[0]
    import html as h

    data = json.loads(h.unescape(chart))
    assert data["years"] == ["2019", "2021", "2022", "2023"]
    assert data["participants"] == [1, 2, 3, 3]
    assert data["growth"][2] == pytest.approx(16.0)
    api = client.get("/api/v1/lists/stats?system=zjg-points").json()
    assert api["participations"] == 9 and api["cooperation_proxy"] == "tech_contract_value"
    # the public page carries the summary of the published series
    client.cookies.clear()
    public = client.get("/lists")
    assert 'data-testid="summary"' in public.text


def test_enterprise_count_in_stats_ignores_other_systems(engine):
    with unit_of_work(engine) as s:
        _series(s)
        make_run(s, [(2, 1.0, None, None, None)], system_id="torch", year=2023, published=True)
        report = yearly_stats(s, None, "zjg-points")
        assert report.participations == 9
        assert s.scalar(select(Enterprise.id).limit(1)) is not None
