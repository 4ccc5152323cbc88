"""Set-based evaluation: verdict vectors, periods, parameters by date, gaps, bad input."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from kechuang.kit.errors import InvalidInput
from kechuang.policy.engine import evaluate, evaluation_year
from kechuang.policy.gaps import fmt, gaps_for
from tests.policy.helpers import hte, hte_rows, tech_sme


def test_evaluation_year_is_the_last_complete_year():
    assert evaluation_year(date(2024, 1, 1)) == 2023
    assert evaluation_year(date(2024, 12, 31)) == 2023


def _frame() -> pd.DataFrame:
    rows = (
        hte_rows("A", (4000, 4500, 5000), (300, 300, 300))  # 6.7% ≥ 5%
        + hte_rows("B", (4000, 4500, 5000), (202.5, 202.5, 202.5))  # 4.5% < 5%
        + hte_rows("C", (4000, 4500, 5100), (202.5, 202.5, 202.5))  # 4.5% ≥ 4%
        + hte_rows("D", (4000, 4500, 5000), (300, 300, 300), tech_staff=None)
    )
    return pd.DataFrame(rows)


def test_hte_over_many_enterprises_at_once():
    ev = evaluate(hte(), _frame(), date(2024, 3, 1))
    table = ev.table().set_index("uscc")
    assert list(ev.table().columns[:7]) == [
        "uscc", "policy_id", "verdict", "score", "score_min", "score_max", "failed"]
    assert [c for c in table.columns if c.startswith("hte.")] == [
        leaf.id for leaf in hte().leaves]
    assert table.loc["B", "verdict"] == "ineligible"
    assert table.loc["B", "failed"] == "hte.rd_ratio"
    assert table.loc["C", "verdict"] in {"likely", "borderline"}
    assert table.loc["C", "failed"] == ""
    assert table.loc["D", "verdict"] == "insufficient_data"
    assert table.loc["D", "missing"] == "tech_staff(2023)"
    # no expert estimates: the innovation score is an interval, written lo-hi
    assert table.loc["A", "hte.innovation_score"] == f"{table.loc['A', 'score_min']}-" \
        f"{table.loc['A', 'score_max']}"
    assert float(table.loc["A", "hte.rd_ratio"]) == pytest.approx(900 / 13500)


def test_thresholds_follow_the_as_of_date():
    """5.5% over three years with 5,000万: fails the 2008 rule (6%), passes the 2016 one (5%)."""
    def rows(first_year: int) -> pd.DataFrame:
        return pd.DataFrame(hte_rows("A", (4000, 4500, 5000), (247.5,) * 3,
                                     first_year=first_year, founded_on="2008-06-01"))

    old = evaluate(hte(), rows(2012), date(2015, 6, 30))
    df = rows(2013)
    new = evaluate(hte(), df, date(2016, 6, 30))
    assert old.params["rd_min_small"] == 0.06
    assert new.params["rd_min_small"] == 0.05
    assert old.leaves["hte.rd_ratio"].state.hi[0] == 0
    assert new.leaves["hte.rd_ratio"].state.lo[0] == 1


def test_gap_sentence_of_the_spec_example():
    # 2.7% of 9,800 万元 over three years, latest revenue above 5,000 万元 → 4% required
    df = pd.DataFrame(hte_rows("A", (2000, 2700, 5100), (88.2, 88.2, 88.2)))
    ev = evaluate(hte(), df, date(2024, 5, 1))
    gaps = {g.leaf_id: g for g in gaps_for(ev, "A")}
    assert gaps["hte.rd_ratio"].text == (
        "研发费用占比 2.7%，低于 4% 的要求：按近三年销售收入 9,800 万元计，"
        "还需增加研发投入约 127 万元")
    assert gaps["hte.rd_ratio"].clause.startswith("国科发火〔2016〕32号 第十一条")


def test_same_verdicts_from_arrow_and_duckdb_as_from_pandas():
    df = _frame()
    expected = evaluate(hte(), df, date(2024, 3, 1)).table()
    arrow = evaluate(hte(), pa.Table.from_pandas(df), date(2024, 3, 1)).table()
    con = duckdb.connect()
    rel = con.from_df(df)
    via_duckdb = evaluate(hte(), rel, date(2024, 3, 1)).table()
    pd.testing.assert_frame_equal(arrow, expected)
    pd.testing.assert_frame_equal(via_duckdb, expected)


def test_text_in_a_number_column_is_refused_not_zeroed():
    df = pd.DataFrame([{"uscc": "A", "year": 2023, "employees": "一百", "revenue": 1}])
    with pytest.raises(InvalidInput, match="employees"):
        evaluate(tech_sme(), df, date(2024, 1, 1))


def test_bool_attribute_must_be_yes_or_no():
    df = pd.DataFrame([{"uscc": "A", "year": 2023, "seriously_dishonest": "maybe"}])
    with pytest.raises(InvalidInput, match="seriously_dishonest"):
        evaluate(tech_sme(), df, date(2024, 1, 1))


def test_number_formats():
    assert fmt(0.027, "pct") == "2.7%"
    assert fmt(9800, "wan") == "9,800 万元"
    assert fmt(127.4, "wan") == "127 万元"
    assert fmt(0.3, "int") == "1"


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([{"uscc": "", "year": 2023}], "第 2 行（含表头计）uscc 为空"),
        ([{"uscc": "A", "year": 2023}, {"uscc": "B", "year": "去年"}], "第 3 行（含表头计）year"),
        ([{"uscc": "A", "year": 2023}, {"uscc": "A", "year": 2023}], "2023 年数据重复出现"),
    ],
)
def test_malformed_rows_are_refused_with_their_row(rows, needle):
    with pytest.raises(InvalidInput) as info:
        evaluate(tech_sme(), pd.DataFrame(rows), date(2024, 1, 1))
    assert needle in info.value.message_zh


def test_as_of_before_the_policy_is_refused():
    df = pd.DataFrame([{"uscc": "A", "year": 2006, "employees": 10}])
    with pytest.raises(InvalidInput, match="不在有效期内"):
        evaluate(hte(), df, date(2007, 6, 1))
