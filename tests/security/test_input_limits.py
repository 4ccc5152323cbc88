"""Input limits before cost (issue 17 item 3): every reproduction of the issue, through the
real upload API and the CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kechuang.config import get_settings
from tests.conftest import login
from tests.ingest.helpers import TAX_HEADER, U1, U2, csv_bytes, xlsx_bytes


def _upload(client, csrf: str, data: bytes, name: str = "f.csv"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/imports", files={"file": (name, data)},
                       data={"template": "tax"}, headers={"X-CSRF-Token": csrf})


def test_a_100000_column_csv_is_refused_with_a_message(client):
    csrf = login(client, "tax")
    wide = ",".join(TAX_HEADER + [f"c{i}" for i in range(100_000)]) + "\n"
    r = _upload(client, csrf, (wide + f"{U1},2023,1,1,1\n").encode())
    assert r.status_code == 422, r.text[:300]
    assert "列，超过上限" in r.text


def test_a_nul_after_64_kb_is_refused_not_stored(client):
    csrf = login(client, "tax")
    rows = [TAX_HEADER] + [[U1, 2000 + i % 20, "1", "", ""] for i in range(3000)]
    data = csv_bytes(rows)
    assert len(data) > 65536
    data += f"{U2},2023,5,,\x00evil\n".encode()
    r = _upload(client, csrf, data)
    assert r.status_code == 422 and "NUL" in r.text


def test_a_header_only_file_is_an_error_not_an_empty_batch(client):
    csrf = login(client, "tax")
    r = _upload(client, csrf, csv_bytes([TAX_HEADER]))
    assert r.status_code == 422 and "没有任何数据行" in r.text
    r = _upload(client, csrf, xlsx_bytes({"S": [TAX_HEADER]}), "f.xlsx")
    assert r.status_code == 422 and "没有任何数据行" in r.text
    assert client.get("/api/v1/imports").json() == [] or all(
        b["rows_imported"] > 0 for b in client.get("/api/v1/imports").json())


def test_xlsx_reading_has_a_cpu_budget(client, monkeypatch):
    monkeypatch.setenv("KECHUANG_IMPORT_MAX_SECONDS", "0.000001")
    get_settings.cache_clear()
    try:
        csrf = login(client, "tax")
        rows = [TAX_HEADER] + [[U1, 2023, str(i), "", ""] for i in range(2500)]
        r = _upload(client, csrf, xlsx_bytes({"S": rows}), "f.xlsx")
        assert r.status_code == 422 and "CPU" in r.text
    finally:
        monkeypatch.delenv("KECHUANG_IMPORT_MAX_SECONDS")
        get_settings.cache_clear()


def test_the_problem_report_in_the_api_answer_is_capped(client, monkeypatch):
    monkeypatch.setenv("KECHUANG_PROBLEM_REPORT_CAP", "10")
    get_settings.cache_clear()
    try:
        csrf = login(client, "tax")
        rows = [TAX_HEADER] + [[U1, 2023, "not-a-number", "", ""] for _ in range(50)]
        r = _upload(client, csrf, csv_bytes(rows))
        body = r.json()
        assert r.status_code == 422 and body["problem_count"] >= 50
        assert len(body["problems"]) == 10 and body["problems_truncated"] is True
        assert body["report_url"].endswith(".xlsx")
        full = client.get(body["report_url"])
        assert full.status_code == 200 and full.content[:2] == b"PK"
    finally:
        monkeypatch.delenv("KECHUANG_PROBLEM_REPORT_CAP")
        get_settings.cache_clear()


def test_the_cli_checks_the_file_size_before_reading(tmp_path: Path, engine, monkeypatch):
    from kechuang.cli import app

    big = tmp_path / "big.csv"
    big.write_bytes(csv_bytes([TAX_HEADER] + [[U1, 2023, "1", "", ""]] * 200))
    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KECHUANG_IMPORT_MAX_BYTES", "1024")
    get_settings.cache_clear()

    def no_reading(self: Path) -> bytes:
        raise AssertionError(f"{self} was read before its size was checked")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    try:
        result = CliRunner().invoke(app, ["import", str(big), "--template", "tax"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "过大" in result.output, result.output
