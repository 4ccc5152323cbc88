"""The cultivation page (snapshots, Sankey data for the static chart script, the pool
with HTMX filters), the snapshot form, the API and the CLI."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from kechuang.db import unit_of_work
from kechuang.models.push import TierRun
from tests.conftest import login
from tests.tiers.test_tiers import _build, _expected


@pytest.fixture
def built(engine: Engine) -> dict[int, int]:
    with unit_of_work(engine) as s:
        return _build(s)


def test_page_snapshot_form_sankey_and_pool(app, engine, built) -> None:
    client = TestClient(app)
    csrf = login(client, "admin")
    empty = client.get("/tiers")
    assert empty.status_code == 200 and "data-tiers-sankey" not in empty.text
    for year in (2023, 2024):
        r = client.post("/tiers/snapshot", data={"year": str(year), "csrf_token": csrf},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/tiers?done={year}"
    assert client.post("/tiers/snapshot", data={"year": "20x4", "csrf_token": csrf}
                       ).status_code == 422
    page = client.get("/tiers")
    assert page.status_code == 200 and "/static/tiers-sankey.js" in page.text
    m = re.search(r'data-tiers-sankey="([^"]+)"', page.text)
    assert m
    option = json.loads(unescape(m.group(1)))
    links = option["series"][0]["links"]
    # admin of 张家港 sees enterprises 1–4 only; the default rules' leading cut-off is the
    # top 20 (here every ranked enterprise), so count with the page's own rules
    assert sum(link["value"] for link in links) == 4
    assert 'data-year="2023"' in page.text and 'data-year="2024"' in page.text
    # the pool partial (HTMX): innovative SME pool of 2024 holds enterprise 4 (borderline)
    part = client.get("/tiers/pool?tier=innovative_sme&year=2024", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text
    assert part.text.count("data-uscc=") == 1 and "55 分–70 分" in part.text
    none = client.get("/tiers/pool?tier=innovative_sme&year=2024&q=不存在")
    assert "data-uscc=" not in none.text
    api = client.get("/api/v1/tiers/transitions?year_from=2023&year_to=2024").json()
    assert sum(t["count"] for t in api) == 4
    assert client.get("/api/v1/tiers/transitions?year_from=2020&year_to=2024"
                      ).status_code == 404
    pool = client.get("/api/v1/tiers/pool?tier=innovative_sme&year=2024").json()
    assert [p["current_tier"] for p in pool] == ["tech_sme"]
    assert client.get("/api/v1/tiers/pool?tier=nope").status_code == 422


def test_cli_snapshot_and_show(engine, built, monkeypatch) -> None:
    from kechuang.cli import app
    from kechuang.config import get_settings
    from kechuang.db import dispose_engines

    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    try:
        none = CliRunner().invoke(app, ["tiers", "show"])
        assert none.exit_code == 1 and "尚无梯队快照" in none.output
        a = CliRunner().invoke(app, ["tiers", "snapshot", "--year", "2023"])
        assert a.exit_code == 0, a.output
        assert "2023 年度，6 家企业" in a.output
        # without --year: the latest evaluation year with policy runs (2024)
        b = CliRunner().invoke(app, ["tiers", "snapshot"])
        assert b.exit_code == 0 and "2024 年度" in b.output
        show = CliRunner().invoke(app, ["tiers", "show"])
        assert show.exit_code == 0, show.output
        assert "梯队迁移 2023 → 2024" in show.output
    finally:
        get_settings.cache_clear()
        dispose_engines()
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(TierRun)) == 2
    # 2023 with the default rules equals the hand table (no scoring in 2023)
    counts = {}
    for lv in _expected(2023).values():
        counts[lv] = counts.get(lv, 0) + 1
    assert f"专精特新中小企业 {counts[3]}" in a.output
