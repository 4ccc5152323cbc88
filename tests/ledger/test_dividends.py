"""Points dividends of a published list paid through the ledger: once per enterprise and
list, all or nothing, never on an unpublished run."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from kechuang.cli import app as cli_app
from kechuang.db import unit_of_work
from kechuang.kit.errors import Conflict, Forbidden, NotFound
from kechuang.ledger import service as ledger
from kechuang.models.ledger import LedgerEntry
from tests.ledger.helpers import actor, open_budget
from tests.lists.helpers import make_run

# 12 enterprises with points 100, 95, …, 45; the first is vetoed (never paid)
RESULTS = [(100 + i, 100.0 - 5 * i, "成长",
            "lead" if i < 2 else "race" if i < 4 else "advance" if i < 6 else None,
            "严重失信" if i == 0 else None) for i in range(12)]


def _run(engine: Engine, published: bool = True) -> int:
    with unit_of_work(engine) as s:
        return make_run(s, RESULTS, published=published).id


def test_dividends_paid_once_per_enterprise_and_list(engine: Engine) -> None:
    run_id = _run(engine)
    with unit_of_work(engine) as s:
        out = ledger.do_pay_dividends(s, actor(s, "admin"), run_id=run_id,
                                      scheme="points-dividend")
        assert out.budget_key == "dividends:320582:2023" and out.posted > 0
        assert out.total_posted + out.remaining == Decimal("10000000")
    with unit_of_work(engine) as s:
        again = ledger.do_pay_dividends(s, actor(s, "admin"), run_id=run_id,
                                        scheme="points-dividend")
        assert (again.posted, again.replayed) == (0, out.posted)
        entries = ledger.entries_for(s, decision_ref=f"list:{run_id}:points-dividend")
        assert len(entries) == out.posted
        assert all(e.kind == "dividend" and e.payee_type == "enterprise" for e in entries)
        assert len({e.payee_id for e in entries}) == len(entries)
        assert sum((e.amount for e in entries), Decimal(0)) == out.total_posted
        # running balances follow one another to the cent
        balances = [e.balance_after for e in entries]
        assert balances[-1] == out.remaining


def test_batch_over_budget_pays_nothing(engine: Engine) -> None:
    run_id = _run(engine)
    with unit_of_work(engine) as s:
        open_budget(s, key="dividends:320582:2023", amount="1000", year=2023)
    with pytest.raises(Conflict, match="超出预算"), unit_of_work(engine) as s:
        ledger.do_pay_dividends(s, actor(s, "admin"), run_id=run_id, scheme="tiers-wenzhou")
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_unpublished_run_and_roles_refused(engine: Engine) -> None:
    run_id = _run(engine, published=False)
    with unit_of_work(engine) as s:
        with pytest.raises(Conflict, match="尚未发布"):
            ledger.do_pay_dividends(s, actor(s, "admin"), run_id=run_id,
                                    scheme="points-dividend")
        with pytest.raises(Forbidden):
            ledger.do_pay_dividends(s, actor(s, "staff"), run_id=run_id,
                                    scheme="points-dividend")


def test_scheme_without_budget_needs_an_open_budget_and_cli(engine: Engine,
                                                            monkeypatch) -> None:
    run_id = _run(engine)
    with unit_of_work(engine) as s:
        with pytest.raises(NotFound, match="预算"):
            ledger.do_pay_dividends(s, actor(s, "admin"), run_id=run_id,
                                    scheme="ranks-top10")
        open_budget(s, key="dividends:320582:2023", amount="2000000", year=2023)
    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    from kechuang.config import get_settings
    from kechuang.db import dispose_engines

    get_settings.cache_clear()
    dispose_engines()
    runner = CliRunner()
    r = runner.invoke(cli_app, ["ledger", "pay-dividends", "--run", str(run_id), "--scheme",
                                "ranks-top10"])
    assert r.exit_code == 0, r.output
    assert '"posted": 10' in r.output and '"total_posted": "1800000.00"' in r.output
    r = runner.invoke(cli_app, ["ledger", "remaining", "--budget", "dividends:320582:2023"])
    assert r.output.strip() == "200000.00"
    r = runner.invoke(cli_app, ["ledger", "reconcile", "--year", "2023"])
    assert r.exit_code == 0 and "平衡" in r.output
    get_settings.cache_clear()
    dispose_engines()
