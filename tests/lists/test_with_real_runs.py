"""End to end with the real scoring service: facts → ``do_score_run`` → publish → the public
lists, a payment list and the statistics agree with the run's own results."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.lists import service
from kechuang.lists.schemes import shipped_scheme
from kechuang.lists.stats import yearly_stats
from kechuang.models.scoring import ScoreResult
from kechuang.scoring.service import do_score_run
from tests.lists.helpers import add_fact
from tests.lists.test_publish_and_pages import actor_of

N = 25  # enterprises 101…125, all in the 成长 stage (revenue 5,000–17,000 万元)


def _facts(s) -> None:  # type: ignore[no-untyped-def]
    for i in range(N):
        n = 101 + i
        for year in (2021, 2022, 2023):
            add_fact(s, n, "revenue", year, str(5000 + 500 * i + 100 * (year - 2021)))
            add_fact(s, n, "rd_expense", year, str(100 + 37 * i + 10 * (year - 2021)))
            add_fact(s, n, "tax_paid", year, str(200 + 11 * i))
        add_fact(s, n, "tech_contract_value", 2023, str(i % 3))


def test_published_real_run_lists_payments_and_stats(engine, client):
    with unit_of_work(engine) as s:
        _facts(s)
        admin = actor_of(s, "admin")
        run = do_score_run(s, admin, "zjg-points", 2023)
        service.do_publish_run(s, admin, run.id)
        run_id = run.id
        results = s.execute(select(ScoreResult.enterprise_id, ScoreResult.points,
                                   ScoreResult.stage, ScoreResult.list_tier, ScoreResult.veto)
                            .where(ScoreResult.run_id == run_id)).all()
        view = service.list_view(s, admin, run, public=True)
        listed = [(tb.tier, e.row.enterprise_id, e.row.stage_rank)
                  for b in view.stages for tb in b.tiers for e in tb.entries]
        # what the run itself says is listed, veto applied
        expected = {(r.list_tier, r.enterprise_id) for r in results
                    if r.list_tier is not None and r.veto is None}
        assert {(t, e) for t, e, _ in listed} == expected and expected
        # places within the stage follow the points, best first
        for b in view.stages:
            places = [e.row.stage_rank for tb in b.tiers for e in tb.entries]
            pts = [e.row.points for tb in b.tiers for e in tb.entries]
            assert places == sorted(places) and pts == sorted(pts, reverse=True)
        plist = service.payment_list(s, admin, run_id, shipped_scheme("points-dividend"))
        assert plist.total <= Decimal("10000000")
        assert sum((p.amount for p in plist.rows), Decimal(0)) == plist.total
        report = yearly_stats(s, None, "zjg-points")
        assert report.years[-1].participants == sum(1 for r in results if r.points is not None)
        assert report.years[-1].run_id == run_id
    page = client.get("/lists")
    assert page.status_code == 200 and f"#{run_id}" in page.text
