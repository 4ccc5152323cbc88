"""Incremental index maintenance at scale-relevant paths: segments, merges, compaction,
replace/remove and the parallel rebuild all give exactly the scores of a fresh build."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kechuang.kit.errors import InvalidInput
from kechuang.matching import index as index_mod
from kechuang.matching.index import Document, LexicalIndex
from kechuang.matching.synonyms import Synonyms

TEXTS = [
    ("高镍三元正极材料", "研究NCM811正极材料的包覆改性，提高锂离子电池循环寿命。"),
    ("钙钛矿光伏电池", "钙钛矿太阳能电池的界面钝化与稳定性研究。"),
    ("", "新能源汽车驱动电机的控制策略与能量管理。"),
    ("工业废水处理", "印染废水的高级氧化处理工艺，降低化学需氧量。"),
    ("", "城市PM2.5来源解析与大气污染防治对策。"),
    ("芯片封装", "集成电路先进封装中的热管理问题。"),
    ("锂电池隔膜", "隔膜涂覆陶瓷提高电池热稳定性。"),
    ("数控机床", "主轴热变形补偿与精密加工误差。"),
]
QUERIES = ["电池材料", "钙钛矿电池", "废水处理工艺", "芯片封装热管理", "PM2.5", "热变形",
           "锂离子电池隔膜"]


def scores_by_id(index: LexicalIndex, query: str) -> dict[str, float]:
    s = index.scores(query)
    alive = index.alive_mask()
    return {d: round(float(s[i]), 9) for i, d in enumerate(index.row_ids()) if alive[i]}


def fresh(docs: dict[str, Document]) -> LexicalIndex:
    ix = LexicalIndex(synonyms=Synonyms())
    ix.rebuild(list(docs.values()), workers=1)
    return ix


ops = st.lists(st.tuples(st.sampled_from(["add", "remove", "compact"]),
                         st.integers(0, 11), st.integers(0, len(TEXTS) - 1)),
               min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(ops, st.integers(1, 4))
def test_any_sequence_of_changes_equals_a_fresh_build(sequence, fold_at):
    index = LexicalIndex(synonyms=Synonyms(), fold_at=fold_at)
    index.rebuild([Document("d0", *TEXTS[0])], workers=1)
    live = {"d0": Document("d0", *TEXTS[0])}
    for op, key, t in sequence:
        doc_id = f"d{key}"
        if op == "add":
            live[doc_id] = Document(doc_id, *TEXTS[t])
            index.add(live[doc_id])
        elif op == "remove":
            assert index.remove(doc_id) is (doc_id in live)
            live.pop(doc_id, None)
        else:
            index.compact()
    assert len(index) == len(live)
    expected = fresh(live) if live else None
    for q in QUERIES:
        got = scores_by_id(index, q)
        want = scores_by_id(expected, q) if expected else {}
        assert got == pytest.approx(want, abs=1e-9)
        if live:
            assert [h.doc_id for h in index.search(q, 5)] == [h.doc_id for h in
                                                               expected.search(q, 5)]


def test_segments_merge_like_a_binary_counter():
    index = LexicalIndex(synonyms=Synonyms(), fold_at=2)
    index.rebuild([Document(f"m{i}", *TEXTS[i % len(TEXTS)]) for i in range(16)], workers=1)
    for i in range(12):
        index.add(Document(f"n{i}", *TEXTS[i % len(TEXTS)]))
    sizes = index.segment_sizes()
    assert sum(sizes) == 28 and len(sizes) >= 3
    # every older segment is more than MERGE_RATIO times the next (else they would merge)
    segs = sizes[:-1]
    assert all(a > index_mod.MERGE_RATIO * b for a, b in zip(segs, segs[1:], strict=False))


def test_replace_requires_an_existing_record_and_keeps_the_count():
    index = fresh({"a": Document("a", *TEXTS[0])})
    with pytest.raises(InvalidInput):
        index.replace(Document("zz", "标题", "正文"))
    index.replace(Document("a", *TEXTS[1]))
    assert len(index) == 1
    assert index.search("钙钛矿", 1)[0].doc_id == "a"
    assert index.search("正极材料", 1) == []


def test_many_removals_compact_by_themselves():
    index = LexicalIndex(synonyms=Synonyms(), fold_at=3)
    index.rebuild([Document(f"x{i}", *TEXTS[i % len(TEXTS)]) for i in range(12)], workers=1)
    for i in range(10):
        index.remove(f"x{i}")
    for i in range(3):  # the flush after these adds sees > 25 % dead rows and compacts
        index.add(Document(f"y{i}", *TEXTS[i]))
    assert len(index.row_ids()) == len(index) == 5
    assert bool(np.all(index.alive_mask()))


def test_parallel_rebuild_equals_serial(monkeypatch):
    docs = [Document(f"p{i}", *TEXTS[i % len(TEXTS)]) for i in range(40)]
    serial = LexicalIndex(synonyms=Synonyms())
    serial.rebuild(docs, workers=1)
    monkeypatch.setattr(index_mod, "CHUNK", 7)  # several work units for two processes
    ticks: list[int] = []
    parallel = LexicalIndex(synonyms=Synonyms())
    parallel.rebuild(docs, progress=ticks.append, workers=2)
    assert sum(ticks) == len(docs)
    for q in QUERIES:
        assert scores_by_id(parallel, q) == scores_by_id(serial, q)


def test_rebuild_checks_ids_before_replacing_the_content():
    index = fresh({"a": Document("a", *TEXTS[0])})
    with pytest.raises(InvalidInput, match="重复"):
        index.rebuild([Document("b", *TEXTS[1]), Document("b", *TEXTS[2])])
    assert index.search("正极材料", 1)[0].doc_id == "a"  # untouched
