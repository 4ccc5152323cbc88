"""``kechuang match search``: the file formats of matching.md and its errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kechuang.cli import app

runner = CliRunner()

CORPUS = """id,title,text
bat,高镍三元正极材料,研究NCM811正极材料的包覆改性，提高锂离子电池循环寿命。
pv,钙钛矿光伏电池,钙钛矿太阳能电池的界面钝化与稳定性研究。
ev,,新能源汽车驱动电机的控制策略与能量管理。
=cmd,工业废水处理,印染废水的高级氧化处理工艺。
"""
QUERIES = """id,text
q1,锂电池正极材料包覆
q2,新能源车电机控制
@q3,印染废水
"""


def write(path: Path, content: str, encoding: str = "utf-8") -> Path:
    path.write_text(content, encoding=encoding)
    return path


def search(tmp_path: Path, corpus: str = CORPUS, queries: str = QUERIES, k: int = 10,
           extra: tuple[str, ...] = ("--mode", "lexical")):
    c = write(tmp_path / "corpus.csv", corpus)
    q = write(tmp_path / "queries.csv", queries)
    out = tmp_path / "run.csv"
    result = runner.invoke(app, ["match", "search", "--corpus", str(c), "--queries", str(q),
                                 "--k", str(k), "--out", str(out), *extra])
    return result, out


def read_run(out: Path) -> list[dict[str, str]]:
    with out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_run_file_format_and_ranking(tmp_path):
    result, out = search(tmp_path, k=2)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == "query_id,doc_id,rank,score"
    rows = read_run(out)
    assert len(rows) == 6  # k rows per query
    by_query: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_query.setdefault(row["query_id"], []).append(row)
    assert [r["rank"] for r in by_query["q1"]] == ["1", "2"]
    assert by_query["q1"][0]["doc_id"] == "bat"
    assert by_query["q2"][0]["doc_id"] == "ev"  # through the synonym 新能源车 ↔ 新能源汽车
    scores = [float(r["score"]) for r in by_query["q1"]]
    assert scores == sorted(scores, reverse=True)


def test_formula_injection_is_neutralised(tmp_path):
    result, out = search(tmp_path, k=1)
    assert result.exit_code == 0, result.output
    rows = read_run(out)
    assert {"query_id": "'@q3", "doc_id": "'=cmd", "rank": "1"}.items() <= rows[-1].items()


def test_k_larger_than_corpus_gives_every_document_once(tmp_path):
    result, out = search(tmp_path, k=50)
    assert result.exit_code == 0, result.output
    rows = read_run(out)
    for qid in ("q1", "q2", "'@q3"):
        docs = [r["doc_id"] for r in rows if r["query_id"] == qid]
        assert sorted(docs) == sorted(["bat", "pv", "ev", "'=cmd"])


def test_empty_title_and_gb18030_file_are_accepted(tmp_path):
    c = write(tmp_path / "corpus.csv", CORPUS, encoding="gb18030")
    q = write(tmp_path / "queries.csv", QUERIES)
    out = tmp_path / "run.csv"
    result = runner.invoke(app, ["match", "search", "--corpus", str(c), "--queries", str(q),
                                 "--out", str(out), "--mode", "lexical", "--k", "1"])
    assert result.exit_code == 0, result.output
    assert read_run(out)[1]["doc_id"] == "ev"


@pytest.mark.parametrize(("corpus", "queries", "message"), [
    (CORPUS + "bat,重复,重复的编号\n", QUERIES, "corpus.csv 第 6 行 id 列：编号“bat”与第 2 行重复"),
    (CORPUS, QUERIES + "q1,又一个\n", "queries.csv 第 5 行 id 列：编号“q1”与第 2 行重复"),
    ("id,text\nd1,缺标题列\n", QUERIES, "corpus.csv 第 1 行（表头）缺少列：title"),
    (CORPUS, "id,query\nq1,电池\n", "queries.csv 第 1 行（表头）缺少列：text"),
    ("", QUERIES, "corpus.csv 为空"),
    (CORPUS, "id,text\n", "queries.csv 只有表头"),
    (CORPUS, "id,text\nq1,，。！\n", "queries.csv 第 2 行 text 列：查询为空"),
    (CORPUS, "id,text\n,电池\n", "queries.csv 第 2 行 id 列：编号为空"),
    (CORPUS, "id,text\nq1," + "电" * 10_001 + "\n", "queries.csv 第 2 行 text 列：查询过长"),
])
def test_bad_files_fail_with_a_chinese_message_and_write_nothing(tmp_path, corpus, queries,
                                                                 message):
    result, out = search(tmp_path, corpus=corpus, queries=queries)
    assert result.exit_code == 1
    # Rich wraps long lines: compare without whitespace
    assert "".join(message.split()) in "".join(result.output.split())
    assert not out.exists()
    assert not list(tmp_path.glob(".run-*"))


def test_unknown_mode_is_refused(tmp_path):
    result, out = search(tmp_path, extra=("--mode", "fuzzy"))
    assert result.exit_code == 1
    assert "lexical" in result.output
    assert not out.exists()
