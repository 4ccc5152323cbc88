"""Lexical index: ranking sanity, fields, synonyms, explanations, incremental updates."""

from __future__ import annotations

import pytest

from kechuang.kit.errors import InvalidInput
from kechuang.matching.index import Document, LexicalIndex
from kechuang.matching.synonyms import Synonyms

DOCS = [
    Document("bat", "高镍三元正极材料", "研究NCM811正极材料的包覆改性，提高锂离子电池循环寿命。"),
    Document("pv", "钙钛矿光伏电池", "钙钛矿太阳能电池的界面钝化与稳定性研究。"),
    Document("ev", "", "新能源汽车驱动电机的控制策略与能量管理。"),
    Document("water", "工业废水处理", "印染废水的高级氧化处理工艺，降低化学需氧量。"),
    Document("air", "", "城市PM2.5来源解析与大气污染防治对策。"),
    Document("chip", "芯片封装", "集成电路先进封装中的热管理问题。"),
]


def build(docs=DOCS, synonyms=None) -> LexicalIndex:
    index = LexicalIndex(synonyms=synonyms or Synonyms())
    index.rebuild(docs)
    return index


def ranking(index: LexicalIndex, query: str, k: int = 10) -> list[tuple[str, float]]:
    return [(h.doc_id, round(h.score, 9)) for h in index.search(query, k)]


def test_document_sharing_the_rare_terms_wins():
    index = build()
    assert index.search("NCM811包覆改性", 3)[0].doc_id == "bat"
    assert index.search("印染废水怎么处理", 3)[0].doc_id == "water"
    assert index.search("ＰＭ２．５污染来源", 3)[0].doc_id == "air"


def test_only_documents_sharing_a_term_are_returned_unless_filled():
    index = build()
    hits = index.search("钙钛矿", 10)
    assert [h.doc_id for h in hits] == ["pv"]
    filled = index.search("钙钛矿", 10, fill=True)
    assert len(filled) == len(DOCS) and filled[0].doc_id == "pv"
    assert all(h.score == 0 for h in filled[1:])
    assert index.search("量子纠缠", 10) == []


def test_title_weighs_more_than_text():
    docs = [Document("t", "石墨烯", "一种新材料的制备方法与应用前景分析。"),
            Document("x", "", "一种新材料石墨烯的制备方法与应用前景分析。")]
    index = build(docs)
    assert [h.doc_id for h in index.search("石墨烯", 2)] == ["t", "x"]


def test_synonym_expansion_finds_the_other_wording():
    plain = build()
    with_dict = build(synonyms=Synonyms.from_groups([["新能源车", "新能源汽车"]]))
    assert "ev" in [h.doc_id for h in with_dict.search("新能源车电控", 3)]
    # the expansion weighs less than typed words: same query without the dictionary scores less
    assert with_dict.search("新能源车", 1)[0].score > plain.search("新能源车", 1)[0].score


def test_explanation_names_terms_and_fields():
    index = build(synonyms=Synonyms.from_groups([["锂电", "锂离子电池"]]))
    why = index.explain("锂电正极材料", "bat")
    assert "正极" in why.matched_terms()
    assert set(why.fields()) == {"title", "text"}
    assert "锂离子电池" in why.synonyms
    assert why.score == pytest.approx(index.search("锂电正极材料", 1)[0].score)
    assert sum(c for _, _, c in why.terms) == pytest.approx(why.score)
    with pytest.raises(InvalidInput):
        index.explain("正极", "nope")


def test_incremental_changes_equal_a_full_rebuild():
    index = build(DOCS[:3])
    index.add(DOCS[3])
    index.add(DOCS[4])
    index.add(Document("chip", "旧标题", "无关内容"))
    index.update(DOCS[5])  # replaces the record above
    index.add(Document("gone", "钙钛矿电池", "将被删除的钙钛矿记录"))
    assert index.remove("gone") is True
    assert index.remove("gone") is False
    fresh = build(DOCS)
    assert len(index) == len(fresh) == len(DOCS)
    for query in ["电池材料", "钙钛矿", "废水处理工艺", "芯片封装热管理", "PM2.5", "旧标题"]:
        assert ranking(index, query) == ranking(fresh, query)
    index.compact()
    for query in ["电池材料", "钙钛矿", "芯片封装热管理"]:
        assert ranking(index, query) == ranking(fresh, query)


def test_delta_folds_itself_when_large():
    index = LexicalIndex(synonyms=Synonyms(), fold_at=2)
    for doc in DOCS:
        index.add(doc)
    fresh = build(DOCS)
    assert ranking(index, "电池") == ranking(fresh, "电池")


def test_rebuild_refuses_duplicate_ids_and_empty_ids():
    with pytest.raises(InvalidInput, match="重复"):
        build([DOCS[0], DOCS[0]])
    with pytest.raises(InvalidInput, match="编号"):
        build([Document("", "标题", "正文")])


def test_empty_query_and_empty_index_give_nothing():
    assert build().search("，。", 5) == []
    assert LexicalIndex(synonyms=Synonyms()).search("电池", 5) == []
