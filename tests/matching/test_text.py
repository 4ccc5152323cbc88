"""Text analysis: normalisation, mixed scripts, stop words, limits."""

from __future__ import annotations

import pytest

from kechuang.kit.errors import InvalidInput
from kechuang.matching import text
from kechuang.matching.synonyms import Synonyms


def words(value: str) -> list[str]:
    return [t for t in text.analyse(value) if not t.startswith(text.BIGRAM_PREFIX)]


def bigrams(value: str) -> list[str]:
    return [text.display(t) for t in text.analyse(value) if t.startswith(text.BIGRAM_PREFIX)]


def test_mixed_scripts_keep_latin_and_digit_terms_whole():
    terms = text.analyse("锂电池NCM811正极材料、PM2.5监测与5G通信")
    assert "ncm811" in terms
    assert "pm2.5" in terms
    assert "5g" in terms
    assert "锂电池" in terms
    assert "#锂电" in terms and "#电池" in terms


def test_full_width_and_case_fold_to_the_same_terms():
    assert text.analyse("ＰＭ２．５ ＮＣＭ８１１ ５Ｇ") == text.analyse("pm2.5 NCM811 5g")
    assert text.normalise("ＡＢＣ，") == "abc,"


def test_bigrams_do_not_cross_punctuation_or_scripts():
    assert bigrams("电池，材料") == ["电池", "材料"]
    assert bigrams("电池abc材料") == ["电池", "材料"]


def test_words_and_bigrams_are_distinct_terms():
    terms = text.analyse("电池")
    assert terms.count("电池") == 1 and terms.count("#电池") == 1


def test_stop_words_are_dropped():
    assert "的" not in words("电池的材料")
    assert "the" not in text.analyse("the battery")
    assert "battery" in text.analyse("the battery")


@pytest.mark.parametrize("value", ["", "   ", "，。！？、", "的"])
def test_empty_or_punctuation_only_gives_no_terms(value):
    assert text.analyse(value) == []


def test_huge_document_is_analysed_up_to_the_limit():
    body = "材料" * (text.MAX_DOC_CHARS // 2) + "石墨烯"
    assert "石墨烯" not in text.analyse(body)
    assert "#材料" in text.analyse(body)


def test_too_long_query_is_refused_in_chinese():
    with pytest.raises(InvalidInput, match="查询过长"):
        text.check_query("电" * (text.MAX_QUERY_CHARS + 1))


def test_synonyms_expand_both_directions_and_abbreviations():
    syn = Synonyms.from_groups(
        [["锂电", "锂离子电池"], ["新能源车", "新能源汽车"], ["AI", "人工智能"]])
    assert syn.expansions("锂电正极材料") == ["锂离子电池"]
    assert syn.expansions("锂离子电池回收") == ["锂电"]
    assert syn.expansions("新能源车电机") == ["新能源汽车"]
    assert syn.expansions("AI质检") == ["人工智能"]
    # a Latin abbreviation inside another word does not trigger
    assert syn.expansions("maintain 设备") == []


def test_packaged_dictionary_loads_and_bad_one_is_refused(tmp_path):
    syn = Synonyms.load()
    assert "锂离子电池" in syn.expansions("锂电")
    assert "新能源汽车" in syn.expansions("新能源车")
    bad = tmp_path / "bad.yaml"
    bad.write_text("groups: 3\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="groups"):
        Synonyms.load(bad)
