"""The import service end to end on the real database: layouts, every kind of problem,
all-or-nothing, valid rows only, idempotency, dry run, supersede and history, rollback."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.ingest.service import do_import, do_rollback_batch
from kechuang.kit.errors import Conflict, Forbidden
from kechuang.kit.uscc import make_uscc
from kechuang.models import AuditEvent, Enterprise, ImportBatch, ImportReport
from tests.ingest.helpers import (
    CLI,
    TAX_HEADER,
    U1,
    U2,
    U3,
    U5,
    csv_bytes,
    current_value,
    fact_state,
    history,
    run_import,
    user_actor,
    xlsx_bytes,
)

GOOD = [TAX_HEADER, [U1, 2023, "1,234.5", "120000", 35], [U2, 2023, "500", "", 12]]


def reasons(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.reason for p in result.problems]


def test_wide_csv_imports_every_value_with_units_scaled(engine):
    r = run_import(engine, csv_bytes(GOOD))
    assert r.ok, r.problems
    assert (r.facts_new, r.rows_imported, r.batch_id) == (5, 2, 1)
    assert current_value(engine, U1, "revenue", 2023) == Decimal("1234.5")
    assert current_value(engine, U1, "rd_expense", 2023) == Decimal("12")  # 120000 元 → 12 万元
    assert current_value(engine, U1, "employees", 2023) == Decimal(35)
    assert current_value(engine, U2, "rd_expense", 2023) is None  # empty cell: no value
    with unit_of_work(engine) as s:
        batch = s.get(ImportBatch, 1)
        assert batch and batch.status == "committed" and batch.facts_new == 5
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "import.commit"))


def test_long_layout_accepts_codes_names_and_aliases(engine):
    rows = [["统一社会信用代码", "年度", "指标", "数值"],
            [U1, "2023年", "invention_patents", "12"],
            [U1, 2023, "发明专利申请数", "３"],
            [U2, 2022, "PCT申请", 1]]
    r = run_import(engine, csv_bytes(rows), "ip")
    assert r.ok, r.problems
    assert r.facts_new == 3
    assert current_value(engine, U1, "invention_applications", 2023) == Decimal(3)
    assert current_value(engine, U2, "pct_applications", 2022) == Decimal(1)


def test_long_layout_reports_unknown_and_foreign_metrics(engine):
    rows = [["统一社会信用代码", "年度", "指标", "数值"],
            [U1, 2023, "专利魔法数", 1],
            [U1, 2023, "revenue", 100],
            [U1, 2023, "invention_patents", 2],
            [U1, 2023, "有效发明专利数", 3]]
    r = run_import(engine, csv_bytes(rows), "ip")
    assert not r.ok
    got = {(p.row, p.letter): p.reason for p in r.problems}
    assert "未知指标" in got[(2, "C")]
    assert "不是指标“营业收入（销售收入）”的数据来源" in got[(3, "C")]
    assert "重复行：与第4行" in got[(5, "A")]


def test_every_kind_of_cell_problem_is_reported_with_row_and_column(engine):
    bad_check = U1[:-1] + ("0" if U1[-1] != "0" else "1")
    rows = [TAX_HEADER + ["神秘列"],
            [bad_check, 2023, "1", "", "", ""],          # row 2: check digit
            [U2, "二〇二三", "1", "", "", ""],            # row 3: period
            [U3, 2023, "一百", "", "", ""],               # row 4: text for number
            [U1, 2023, "-5", "", "", ""],                 # row 5: below range
            [U2, 2023, "1", "", "3.5", ""],               # row 6: not an integer
            [U2, 2023, "1", "", "", ""],                  # row 7: duplicate of row 6
            [make_uscc("91320582999999999"), 2023, "1", "", "", ""],  # row 8: unknown
            ["", 2023, "1", "", "", ""],                  # row 9: key column empty
            [U3, 2022, "1", "", "", "x"]]                 # row 10: data in unknown column
    r = run_import(engine, csv_bytes(rows))
    assert not r.ok and r.batch_id is None
    where = {(p.row, p.letter): p for p in r.problems}
    assert "校验位错误" in where[(2, "A")].reason
    assert "期间格式无法识别" in where[(3, "B")].reason
    assert "应为数字" in where[(4, "C")].reason and where[(4, "C")].value == "一百"
    assert "小于下限" in where[(5, "C")].reason
    assert "应为整数" in where[(6, "E")].reason
    assert "重复行：与第6行" in where[(7, "A")].reason
    assert "企业未登记" in where[(8, "A")].reason
    assert "统一社会信用代码为空" in where[(9, "A")].reason
    assert "未知列" in where[(1, "F")].reason and where[(1, "F")].column == "神秘列"
    assert len(r.problems) == 9
    assert where[(4, "C")].column == "营业收入（万元）"


def test_dates_booleans_enums_and_foreign_metric_columns(engine):
    rows = [["统一社会信用代码", "高新技术企业证书有效期至", "属于重点支持高新技术领域",
             "研发机构级别"],
            [U1, "2026年12月31日", "是", "省级"],
            [U2, "2026/2/30", "也许", "宇宙级"],
            [U3, "46022", "0", "national"]]
    r = run_import(engine, csv_bytes(rows), "kjj-qual")
    assert not r.ok
    where = {(p.row, p.letter): p.reason for p in r.problems}
    assert "不存在" in where[(3, "B")]
    assert "是/否" in where[(3, "C")]
    assert "无效，应为" in where[(3, "D")]
    assert len(r.problems) == 3
    ok = run_import(engine, csv_bytes([rows[0], rows[1], rows[3]]), "kjj-qual")
    assert ok.ok, ok.problems
    with unit_of_work(engine) as s:
        e1 = s.scalar(select(Enterprise).where(Enterprise.uscc == U1))
        e3 = s.scalar(select(Enterprise).where(Enterprise.uscc == U3))
        assert e1 and e3
        assert e1.hte_expires_on == date(2026, 12, 31)
        assert e1.in_key_tech_field is True and e1.rd_institution_level == "province"
        assert e3.hte_expires_on == date(2025, 12, 31)  # Excel serial 46022
        assert e3.in_key_tech_field is False and e3.rd_institution_level == "national"


def test_a_column_of_a_metric_the_department_does_not_supply_is_refused(engine):
    rows = [["统一社会信用代码", "年度", "营业收入（万元）", "有效发明专利数"], [U1, 2023, 1, 2]]
    r = run_import(engine, csv_bytes(rows))
    assert not r.ok
    assert any("税务局不是指标“有效发明专利数”的数据来源" in x for x in reasons(r))


def test_one_bad_cell_changes_nothing(engine):
    run_import(engine, csv_bytes(GOOD))
    before = fact_state(engine)
    rows = [TAX_HEADER, [U1, 2023, "999", "", 40], [U2, 2023, "abc", "", 12]]
    r = run_import(engine, csv_bytes(rows))
    assert not r.ok and r.report_id
    assert fact_state(engine) == before
    assert current_value(engine, U1, "revenue", 2023) == Decimal("1234.5")


def test_valid_rows_only_imports_the_rest_and_keeps_the_report(engine):
    rows = [TAX_HEADER, [U1, 2023, "10", "", 4], [U2, 2023, "abc", "", 12], [U3, 2023, 7, "", ""]]
    r = run_import(engine, csv_bytes(rows), valid_rows_only=True)
    assert r.ok and r.batch_id
    assert (r.rows_imported, r.rows_skipped, r.facts_new) == (2, 1, 3)
    assert current_value(engine, U2, "employees", 2023) is None  # whole bad row skipped
    with unit_of_work(engine) as s:
        report = s.scalar(select(ImportReport).where(ImportReport.batch_id == r.batch_id))
        assert report and report.problem_count == 1 and report.problems[0][1] == 3


def test_same_file_twice_is_already_imported(engine):
    data = csv_bytes(GOOD)
    first = run_import(engine, data)
    state = fact_state(engine)
    again = run_import(engine, data, filename="renamed.csv")
    assert again.ok and again.already_imported and again.batch_id == first.batch_id
    assert f"批次 {first.batch_id}" in again.message
    assert fact_state(engine) == state


def test_dry_run_shows_old_and_new_and_writes_nothing(engine):
    run_import(engine, csv_bytes(GOOD))
    before = fact_state(engine)
    rows = [TAX_HEADER, [U1, 2023, "1300", "120000", 35], [U2, 2023, "500", "", 12],
            [U3, 2023, "8", "", ""]]
    r = run_import(engine, csv_bytes(rows), dry_run=True)
    assert r.ok and r.batch_id is None
    assert (r.facts_new, r.facts_changed, r.facts_unchanged) == (1, 1, 4)
    [change] = r.changes
    assert (change.uscc, change.metric, change.period, change.old, change.new) == (
        U1, "revenue", 2023, "1234.5", "1300")
    assert fact_state(engine) == before


def test_corrected_file_supersedes_and_keeps_history(engine):
    first = run_import(engine, csv_bytes(GOOD))
    rows = [TAX_HEADER, [U1, 2023, "1300", "120000", 35], [U2, 2023, "500", "", 12]]
    second = run_import(engine, csv_bytes(rows))
    assert (second.facts_new, second.facts_changed, second.facts_unchanged) == (0, 1, 4)
    assert history(engine, U1, "revenue", 2023) == [
        (Decimal("1234.5"), first.batch_id, False, second.batch_id),
        (Decimal("1300"), second.batch_id, True, None)]
    # the unchanged value was not rewritten: it still belongs to the first batch
    assert history(engine, U1, "employees", 2023) == [(Decimal(35), first.batch_id, True, None)]


def test_rollback_restores_superseded_values_and_refuses_out_of_order(engine):
    first = run_import(engine, csv_bytes(GOOD))
    rows = [TAX_HEADER, [U1, 2023, "1300", "120000", 35]]
    second = run_import(engine, csv_bytes(rows))
    with unit_of_work(engine) as s, pytest.raises(Conflict) as refused:
        do_rollback_batch(s, CLI, first.batch_id)
    assert f"批次 {second.batch_id}" in refused.value.message_zh
    with unit_of_work(engine) as s:
        summary = do_rollback_batch(s, CLI, second.batch_id)
    assert summary == {"facts_deleted": 1, "facts_restored": 1, "enterprises_removed": 0}
    assert current_value(engine, U1, "revenue", 2023) == Decimal("1234.5")
    with unit_of_work(engine) as s:
        do_rollback_batch(s, CLI, first.batch_id)
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "import.rollback")) == 2
    assert current_value(engine, U1, "revenue", 2023) is None
    with unit_of_work(engine) as s, pytest.raises(Conflict):
        do_rollback_batch(s, CLI, first.batch_id)
    # a rolled-back file may be imported again
    assert run_import(engine, csv_bytes(GOOD)).batch_id == 3


MARKET = ["统一社会信用代码", "企业名称", "所属区域代码", "行业代码", "成立日期",
          "列入经营异常名录"]


def test_market_creates_enterprises_refreshes_master_fields_and_rollback_removes_them(engine):
    new = make_uscc("91320582000000777")
    rows = [MARKET, [new, "张家港新创科技有限公司", "320582100", "C3973", "2020年1月5日", "是"],
            [U2, "沙洲新材料（更名）", "320582401", "2651", "2012-03-02", "否"]]
    r = run_import(engine, csv_bytes(rows), "market")
    assert r.ok, r.problems
    assert r.enterprises_created == 1
    with unit_of_work(engine) as s:
        e = s.scalar(select(Enterprise).where(Enterprise.uscc == new))
        assert e and e.name == "张家港新创科技有限公司" and e.industry_code == "3973"
        assert e.founded_on == date(2020, 1, 5) and e.abnormal_operation is True
        assert e.created_batch_id == r.batch_id
        e2 = s.scalar(select(Enterprise).where(Enterprise.uscc == U2))
        assert e2 and e2.name == "沙洲新材料（更名）" and e2.founded_on == date(2012, 3, 2)
    with unit_of_work(engine) as s:
        assert do_rollback_batch(s, CLI, r.batch_id)["enterprises_removed"] == 1
        assert s.scalar(select(Enterprise).where(Enterprise.uscc == new)) is None


def test_market_checks_industry_region_and_required_fields(engine):
    new1, new2 = make_uscc("91320582000000771"), make_uscc("91320582000000772")
    rows = [MARKET, [new1, "甲公司", "999999", "C9999", "", ""],
            [new2, "", "320582100", "3973", "", ""]]
    r = run_import(engine, csv_bytes(rows), "market")
    assert not r.ok
    where = {(p.row, p.letter): p.reason for p in r.problems}
    assert "区域代码“999999”不存在" in where[(2, "C")]
    assert "不在 GB/T 4754-2017" in where[(2, "D")]
    assert "新建企业需要企业名称" in where[(3, "A")]


def test_tax_template_cannot_create_enterprises(engine):
    unknown = make_uscc("91320582000000555")
    r = run_import(engine, csv_bytes([TAX_HEADER, [unknown, 2023, 1, "", ""]]))
    assert not r.ok and "不能新建企业" in r.problems[0].reason


def test_xlsx_every_sheet_title_rows_formulas_and_typed_cells(engine):
    sheets = {
        "说明": [["本表由税务局导出"]],
        "2023": [["税务局 2023 年度数据"], TAX_HEADER, [U1, 2023, 1234.5, 120000, 35]],
        "2022": [TAX_HEADER, [U1, 2022, "=1+1", 5, 3], [U2, 2022.0, 7, None, 2]],
    }
    r = run_import(engine, xlsx_bytes(sheets), filename="tax.xlsx")
    assert not r.ok
    [p] = r.problems
    assert (p.sheet, p.row, p.letter) == ("2022", 2, "C") and "公式" in p.reason
    assert any("说明" in n for n in r.notes)
    sheets["2022"][1][2] = 2
    r = run_import(engine, xlsx_bytes(sheets), filename="tax.xlsx")
    assert r.ok, r.problems
    assert r.facts_new == 8
    assert current_value(engine, U1, "rd_expense", 2022) == Decimal("0.0005")


def test_month_metrics_need_month_periods(engine):
    rows = [["统一社会信用代码", "月份", "当月工业产值（万元）"], [U1, "2024-05", "12.5"],
            [U1, "2024年6月", 13], [U1, "2024", 1]]
    r = run_import(engine, csv_bytes(rows), "stats-month")
    assert not r.ok
    assert [(p.row, p.letter) for p in r.problems] == [(4, "B")]
    r = run_import(engine, csv_bytes(rows[:3]), "stats-month")
    assert r.ok
    assert current_value(engine, U1, "output_month", 202406) == Decimal(13)


def test_department_uses_only_its_own_templates_and_stays_in_its_region(engine):
    tax = user_actor(engine, "tax")
    with unit_of_work(engine) as s, pytest.raises(Forbidden):
        do_import(s, tax, csv_bytes([["统一社会信用代码", "年度", "指标", "数值"]]), "x.csv", "ip")
    rows = [TAX_HEADER, [U1, 2023, 1, "", ""], [U5, 2023, 2, "", ""]]
    r = run_import(engine, csv_bytes(rows), actor=tax)
    assert not r.ok and [p.row for p in r.problems] == [3]
    assert "不在您的辖区" in r.problems[0].reason


def test_bureau_of_another_county_cannot_roll_back_or_see_a_batch(engine):
    r = run_import(engine, csv_bytes(GOOD), actor=user_actor(engine, "admin"))
    other = user_actor(engine, "other_admin")
    from kechuang.kit.errors import NotFound

    with unit_of_work(engine) as s, pytest.raises(NotFound):
        do_rollback_batch(s, other, r.batch_id)
