"""Payment lists through the pages, the API and the CLI: totals, XLSX, audit, scope."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from kechuang.cli import app as cli_app
from kechuang.db import unit_of_work
from kechuang.models import AuditEvent
from tests.lists.helpers import make_run

# 12 enterprises in 成长 with points 100, 95, …, 45; the first is vetoed
RESULTS = [(100 + i, 100.0 - 5 * i, "成长",
            "lead" if i < 2 else "race" if i < 4 else "advance" if i < 6 else None,
            "严重失信" if i == 0 else None) for i in range(12)]

SCHEME = """\
id: uploaded
name: 上传的方案
kind: proportional
budget: 1000
threshold: 80
cap: 400
"""


def _expected_uploaded() -> dict[float, Decimal]:
    # eligible above 80 (veto excluded): 95, 90, 85 → excess 15, 10, 5 of 1000:
    # 500 > cap 400 → 400; 600 left over 10:5 → 400, 200
    return {95.0: Decimal("400.00"), 90.0: Decimal("400.00"), 85.0: Decimal("200.00")}


def _run(engine) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        return make_run(s, RESULTS).id


def test_shipped_scheme_page_and_export(engine, client, login_as):
    run_id = _run(engine)
    login_as("staff")
    page = client.get(f"/lists/{run_id}/dividends?scheme=tiers-wenzhou")
    assert page.status_code == 200
    # tiers: lead 200000 (one: the vetoed one is out), race 2 × 100000, advance 2 × 50000
    assert 'data-testid="total">500,000<' in page.text
    partial = client.get(f"/lists/{run_id}/dividends?scheme=tiers-wenzhou",
                         headers={"HX-Request": "true"})
    assert "<html" not in partial.text and 'data-testid="payments"' in partial.text
    xlsx = client.get(f"/lists/{run_id}/dividends.xlsx?scheme=tiers-wenzhou")
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.content))["支付清单"].iter_rows(values_only=True))
    amounts = [Decimal(str(r[-1])) for r in rows[1:-1]]
    assert sorted(amounts, reverse=True) == [Decimal(200000), Decimal(100000),
                                             Decimal(100000), Decimal(50000), Decimal(50000)]
    assert rows[-1][0] == "合计" and Decimal(str(rows[-1][-1])) == Decimal(500000)
    assert not any("严重失信" in str(c) for r in rows for c in r)
    with unit_of_work(engine) as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "lists.export_payments"))
        assert ev.after["scheme_id"] == "tiers-wenzhou" and ev.after["total"] == "500000.00"


def test_uploaded_scheme_is_computed_and_exported_from_its_text(engine, client, login_as):
    run_id = _run(engine)
    csrf = login_as("admin")
    r = client.post(f"/lists/{run_id}/dividends", data={"csrf_token": csrf},
                    files={"file": ("mine.yaml", SCHEME.encode(), "application/x-yaml")})
    assert r.status_code == 200, r.text
    assert 'data-testid="total">1,000<' in r.text
    r = client.post(f"/lists/{run_id}/dividends.xlsx",
                    data={"csrf_token": csrf, "scheme_text": SCHEME, "scheme_name": "mine.yaml"})
    rows = list(load_workbook(io.BytesIO(r.content))["支付清单"].iter_rows(values_only=True))
    got = {float(row[7]): Decimal(str(row[-1])) for row in rows[1:-1]}
    assert got == _expected_uploaded()


def test_a_bad_uploaded_scheme_is_refused_with_its_line(engine, client, login_as):
    run_id = _run(engine)
    csrf = login_as("staff")
    bad = SCHEME.replace("cap: 400", "capp: 400")
    r = client.post(f"/lists/{run_id}/dividends", data={"csrf_token": csrf},
                    files={"file": ("bad.yaml", bad.encode(), "application/x-yaml")})
    assert r.status_code == 422
    assert "第6行" in r.text and "capp" in r.text


def test_api_payment_list(engine, client, login_as):
    run_id = _run(engine)
    login_as("staff")
    body = client.get(f"/api/v1/lists/{run_id}/dividends?scheme=points-dividend").json()
    # threshold 60: 95…65 above it (100 vetoed); excess 35, 30, 25, 20, 15, 10, 5 = 140 of
    # 10,000,000 → 2.5 M for 35 is capped at 1 M, the rest cascades; the total is the budget
    assert Decimal(body["total"]) <= Decimal(body["budget"]) == Decimal("10000000.00")
    paid = [Decimal(p["amount"]) for p in body["payments"]]
    assert max(paid) == Decimal("1000000.00")
    assert Decimal(body["total"]) == sum(paid)
    assert len(paid) == 7


def test_a_run_wider_than_the_bureau_gets_no_payment_list(engine, client, login_as):
    with unit_of_work(engine) as s:
        run_id = make_run(s, RESULTS, region=None).id
    login_as("staff")
    r = client.get(f"/lists/{run_id}/dividends?scheme=tiers-wenzhou")
    assert r.status_code == 403


def _cli_env(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kechuang.config import get_settings
    from kechuang.db import dispose_engines

    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()


def test_cli_publish_dividends_stats_and_export(engine, monkeypatch, tmp_path: Path):
    run_id = _run(engine)
    _cli_env(engine, monkeypatch)
    try:
        runner = CliRunner()
        scheme = tmp_path / "mine.yaml"
        scheme.write_text(SCHEME, encoding="utf-8")
        out = tmp_path / "p.xlsx"
        r = runner.invoke(cli_app, ["lists", "dividends", "--run", str(run_id), "--scheme",
                                    str(scheme), "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert "合计 1000.00 元" in r.output
        rows = list(load_workbook(out)["支付清单"].iter_rows(values_only=True))
        assert {float(row[7]): Decimal(str(row[-1])) for row in rows[1:-1]} == \
            _expected_uploaded()
        bad = tmp_path / "bad.yaml"
        bad.write_text(SCHEME + "cap: 5\n", encoding="utf-8")
        r = runner.invoke(cli_app, ["lists", "dividends", "--run", str(run_id), "--scheme",
                                    str(bad)])
        assert r.exit_code == 1 and "bad.yaml 第7行" in r.output
        r = runner.invoke(cli_app, ["lists", "publish", "--run", str(run_id)])
        assert r.exit_code == 0, r.output
        r = runner.invoke(cli_app, ["lists", "publish", "--run", str(run_id)])
        assert r.exit_code == 1 and "已是当前" in r.output
        r = runner.invoke(cli_app, ["lists", "stats", "--system", "zjg-points"])
        assert r.exit_code == 0, r.output
        import json

        assert json.loads(r.output)["years"][0]["participants"] == 12
        listed = tmp_path / "l.xlsx"
        r = runner.invoke(cli_app, ["lists", "export", "--run", str(run_id), "--out",
                                    str(listed), "--public"])
        assert r.exit_code == 0, r.output
        assert "5 家上榜企业" in r.output
        r = runner.invoke(cli_app, ["lists", "withdraw", "--run", str(run_id)])
        assert r.exit_code == 0, r.output
    finally:
        from kechuang.config import get_settings
        from kechuang.db import dispose_engines

        get_settings.cache_clear()
        dispose_engines()
