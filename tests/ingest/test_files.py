"""Encodings and hostile files: every refusal says, in Chinese, which file and why, and
writes nothing but the problem report."""

from __future__ import annotations

import io
import random
import zipfile
from decimal import Decimal

import pytest

from tests.ingest.helpers import (
    TAX_HEADER,
    U1,
    csv_bytes,
    current_value,
    fact_state,
    run_import,
    xlsx_bytes,
)

ROWS = [TAX_HEADER, [U1, 2023, "1,234.5", "120000", 35]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_in_each_accepted_encoding(engine, encoding):
    r = run_import(engine, csv_bytes(ROWS, encoding), filename=f"tax-{encoding}.csv")
    assert r.ok, r.problems
    assert current_value(engine, U1, "revenue", 2023) == Decimal("1234.5")


def refused(engine, data: bytes, filename: str) -> str:  # type: ignore[no-untyped-def]
    before = fact_state(engine)
    r = run_import(engine, data, filename=filename)
    assert not r.ok and r.report_id
    assert fact_state(engine) == before
    [p] = r.problems
    assert filename in p.reason
    return p.reason


def test_unknown_encoding_is_refused_by_name(engine):
    data = "统一社会信用代码,年度\n".encode() + b"\x80\xff\xfe\n"
    assert "编码无法识别" in refused(engine, data, "weird.csv")


def test_utf16_and_binary_junk_named_csv_are_refused(engine):
    assert "不是文本文件" in refused(engine, "统一社会信用代码,年度\n".encode("utf-16"), "u16.csv")
    junk = bytes(random.Random(1).randrange(256) for _ in range(4096)) + b"\x00"
    assert "不是文本文件" in refused(engine, junk, "junk.csv")


def test_empty_file_and_missing_header(engine):
    assert "空文件" in refused(engine, b"", "empty.csv")
    assert "空文件" in refused(engine, b"  \n\n", "blank.csv")
    assert "未找到表头" in refused(engine, csv_bytes([["a", "b"], [1, 2]]), "nohead.csv")
    assert "未找到表头" in refused(engine, xlsx_bytes({"S": [["a"], [1]]}), "nohead.xlsx")


def test_legacy_xls_and_non_workbook_zip(engine):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    assert ".xlsx" in refused(engine, ole, "old.xls")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "hi")
    assert "不是 Excel 工作簿" in refused(engine, buf.getvalue(), "fake.xlsx")
    assert "不是有效的 XLSX" in refused(engine, b"just text", "fake2.xlsx")


def _bomb(member_bytes: int) -> bytes:
    """A real XLSX whose sheet XML is padded with a huge, highly compressible comment."""
    good = xlsx_bytes({"S": ROWS})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, _, tail = data.partition(b"<sheetData>")
                data = head + b"<!--" + b" " * member_bytes + b"-->" + b"<sheetData>" + tail
            dst.writestr(info.filename, data)
    return out.getvalue()


def test_zip_bomb_is_refused_before_parsing(engine):
    bomb = _bomb(50 * 1024 * 1024)
    assert len(bomb) < 200 * 1024
    assert "压缩炸弹" in refused(engine, bomb, "bomb.xlsx")


def test_total_unzipped_size_limit(engine, settings_env):
    settings_env(import_max_unzipped_bytes=4096)
    assert "解压后" in refused(engine, xlsx_bytes({"S": ROWS}), "big.xlsx")


def test_row_limit_and_byte_limit(engine, settings_env):
    settings_env(import_max_rows=3)
    rows = [TAX_HEADER] + [[U1, 2000 + i, 1, "", ""] for i in range(5)]
    assert "超过上限 3 行" in refused(engine, csv_bytes(rows), "many.csv")
    assert "超过上限 3 行" in refused(engine, xlsx_bytes({"S": rows}), "many.xlsx")
    ok = run_import(engine, csv_bytes(rows[:4]), filename="three.csv")
    assert ok.ok
    settings_env(import_max_bytes=1024)
    big = csv_bytes([TAX_HEADER] + [[U1, 1990 + i % 50, i, "", ""] for i in range(100)])
    assert "过大" in refused(engine, big, "big.csv")


def test_macros_are_ignored(engine):
    good = xlsx_bytes({"S": ROWS})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        dst.writestr("xl/vbaProject.bin", b"\x00Attribute VB_Name = \"Evil\"" * 20)
    r = run_import(engine, out.getvalue(), filename="macro.xlsm")
    assert r.ok, r.problems
    assert r.facts_new == 3
