"""CSV / XLSX imports of the registries: every problem with file, sheet, row, column and a
Chinese reason; duplicate ids; all or nothing (also for references only the database knows)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.matching import imports
from kechuang.models.matching import Achievement, Commissioner, TechDemand
from tests.matching.helpers import actor
from tests.support.seed import uscc

ACH_HEADER = "成果编号,成果名称,摘要,关键词,成熟度,转化方式,价格下限（万元）,价格上限（万元）"


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def run(engine, username, kind, data, name="a.csv"):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        return imports.do_import(s, actor(s, username), kind, data, name)


def test_achievements_csv_imports_every_row(engine):
    data = csv_bytes(ACH_HEADER,
                     "X-1,高强铝合金,航空用铝合金,铝合金,中试,许可；转让,10,20",
                     "X-2,光伏背板膜,耐候背板,光伏,产业化,合作开发,,")
    assert run(engine, "inst", "achievements", data) == 2
    with unit_of_work(engine) as s:
        a = s.scalar(select(Achievement).where(Achievement.code == "X-1"))
        assert a.transfer_modes == ["许可", "转让"] and a.price_max == Decimal("20")


def test_problems_name_file_row_column_and_nothing_is_written(engine):
    data = csv_bytes(ACH_HEADER,
                     "X-1,高强铝合金,摘要,铝合金,中试,许可,10,20",
                     "X-2,,摘要,关键词,中试,许可,,",
                     "X-1,重复编号,摘要,关键词,中试,许可,,",
                     "X-3,价格倒挂,摘要,关键词,中试,许可,30,20",
                     "X-4,单位错了,摘要,关键词,小试,许可,,")
    with pytest.raises(imports.ImportRejected) as err:
        run(engine, "inst", "achievements", data, "成果.csv")
    problems = {(p.row, p.column, p.field): p.reason for p in err.value.problems}
    assert problems[(3, "B", "成果名称")] == "不能为空"
    assert problems[(4, "A", "成果编号")].startswith("与第 2 行重复")
    assert "第 2 行重复" in problems[(4, "A", "成果编号")]
    assert problems[(5, None, "价格范围")] == "下限 30 大于上限 20"
    assert "“小试”不是可选值" in problems[(6, "E", "成熟度")]
    text = err.value.problems[0].text()
    assert text.startswith("文件“成果.csv”") and "第 3 行" in text and "B 列" in text
    assert count(engine, Achievement) == 0


def test_a_reference_unknown_to_the_database_rolls_back_every_row(engine):
    header = "企业信用代码,需求名称,问题描述,预算下限（万元）,预算上限（万元）"
    data = csv_bytes(header, f"{uscc(2)},高分子阻燃改性,阻燃等级不够,10,20",
                     f"{uscc(9)},不存在的企业,描述,,")
    with pytest.raises(imports.ImportRejected) as err:
        run(engine, "staff", "demands", data)
    [p] = err.value.problems
    assert p.row == 3 and "不存在或不在您的管辖范围内" in p.reason
    # the unit of work that raised rolled back the first row too
    assert count(engine, TechDemand) == 0


def test_existing_code_and_duplicate_across_sheets_of_an_xlsx(engine):
    run(engine, "inst", "achievements", csv_bytes(ACH_HEADER, "OLD-1,旧成果,摘要,,中试,许可,,"))
    wb = Workbook()
    ws = wb.active
    ws.title = "第一批"
    ws.append(ACH_HEADER.split(","))
    ws.append(["OLD-1", "又一次", "摘要", "", "中试", "许可", None, None])
    ws.append(["N-1", "新成果", "摘要", "", "中试", "许可", 5, 8])
    ws2 = wb.create_sheet("第二批")
    ws2.append(ACH_HEADER.split(","))
    ws2.append(["N-1", "同号", "摘要", "", "中试", "许可", None, None])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(imports.ImportRejected) as err:
        run(engine, "inst", "achievements", buf.getvalue(), "成果.xlsx")
    found = {(p.sheet, p.row): p.reason for p in err.value.problems}
    assert found[("第一批", 2)] == "OLD-1 已在成果库中"
    assert "工作表“第一批”第 3 行重复" in found[("第二批", 2)]
    assert count(engine, Achievement) == 1


def test_header_empty_file_and_role_errors(engine):
    with pytest.raises(Exception, match="空文件"):
        run(engine, "inst", "achievements", b"")
    with pytest.raises(imports.ImportRejected) as err:
        run(engine, "inst", "achievements", csv_bytes(ACH_HEADER))
    assert "没有数据行" in err.value.problems[0].reason
    with pytest.raises(Exception, match="不能导入"):
        run(engine, "inst", "commissioners", csv_bytes("姓名,服务容量", "张三,2"))
    with pytest.raises(Exception, match="未知的导入类型"):
        run(engine, "staff", "bananas", csv_bytes("a", "b"))


def test_commissioners_with_zero_capacity_and_bad_capacity(engine):
    assert run(engine, "staff", "commissioners",
               csv_bytes("姓名,专长,工作单位,服务容量", "张三,焊接,江苏科技大学,0",
                         "李四,化工,南京工业大学,３")) == 2
    with unit_of_work(engine) as s:
        caps = dict(s.execute(select(Commissioner.name, Commissioner.capacity)).all())
    assert caps == {"张三": 0, "李四": 3}
    with pytest.raises(imports.ImportRejected) as err:
        run(engine, "staff", "commissioners", csv_bytes("姓名,服务容量", "王五,2.5"))
    assert err.value.problems[0].column == "B"
    assert "0 到 100 之间的整数" in err.value.problems[0].reason


def test_web_upload_shows_all_problems_and_writes_nothing(client, login_as, engine):
    csrf = login_as("inst")
    bad = csv_bytes(ACH_HEADER, "Y-1,,摘要,,中试,许可,,", "Y-2,好成果,摘要,,中试,许可,,")
    r = client.post("/matching/imports", data={"kind": "achievements", "csrf_token": csrf},
                    files={"file": ("bad.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert "文件“bad.csv”，第 2 行，B 列（成果名称）：不能为空" in r.text
    assert count(engine, Achievement) == 0
    good = csv_bytes(ACH_HEADER, "Y-2,好成果,摘要,,中试,许可,,")
    r = client.post("/matching/imports", data={"kind": "achievements", "csrf_token": csrf},
                    files={"file": ("good.csv", good, "text/csv")})
    assert r.status_code == 200 and 'data-testid="import-done"' in r.text
    assert count(engine, Achievement) == 1
