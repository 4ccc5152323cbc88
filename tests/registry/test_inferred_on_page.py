"""The enterprise page shows which values are inferred zeros (issue 11, item 1): a count the
science bureau reports only when above zero reads 0 for a covered enterprise and year,
marked 推断 with the reason; an uncovered year stays a blank (unknown)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from kechuang.db import unit_of_work
from kechuang.web.render import LANG_COOKIE
from tests.conftest import login
from tests.ingest.helpers import U1, U2, csv_bytes, run_import, user_actor
from tests.registry.factdata import add_batch, add_facts


def _cell(html: str, metric: str, year: int) -> str:
    row = re.search(rf'<tr data-metric="{metric}">(.*?)</tr>', html, re.S)
    assert row is not None, metric
    cell = re.search(rf'<td class="num" data-year="{year}">(.*?)</td>', row.group(1), re.S)
    assert cell is not None, (metric, year)
    return cell.group(1)


def test_inferred_zero_is_marked_and_unknown_stays_blank(app, engine: Engine) -> None:
    staff = user_actor(engine, "staff")
    header = ["统一社会信用代码", "年度", "国家级科技奖励数"]
    assert run_import(engine, csv_bytes([header, [U1, 2023, "2"]]), "kjj", actor=staff).ok
    with unit_of_work(engine) as s:
        tax = add_batch(s, "tax", "税务数据.csv", at=datetime(2024, 3, 1, tzinfo=UTC))
        add_facts(s, tax, U2, {"revenue": {2022: Decimal("900"), 2023: Decimal("1000")}})
    client = TestClient(app)
    login(client, "staff")
    page = client.get(f"/enterprises/{U2}").text
    cell = _cell(page, "awards_national", 2023)
    assert 'data-inferred="awards_national"' in cell and "推断" in cell
    assert re.search(r">\s*0\s*<", cell), cell
    assert "科技奖励名单只列获奖企业" in cell  # the reason, in the user's language
    assert 'data-testid="inferred-note"' in page
    # 2022: no award register covered that year, so the value is unknown, not 0
    assert "data-inferred" not in _cell(page, "awards_national", 2022)
    assert "—" in _cell(page, "awards_national", 2022)
    # the reported value of the other enterprise is a fact with its source, not inferred
    own = client.get(f"/enterprises/{U1}").text
    assert "data-inferred" not in _cell(own, "awards_national", 2023)
    assert 'class="fact"' in _cell(own, "awards_national", 2023)
    client.cookies.set(LANG_COOKIE, "en")
    english = client.get(f"/enterprises/{U2}").text
    cell = _cell(english, "awards_national", 2023)
    assert "inferred" in cell and "The award register lists winners only" in cell
    assert "科技奖励名单" not in cell
