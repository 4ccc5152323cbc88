"""Chinese text analysis for the matcher: normalisation, jieba words plus character bigrams.

Why both: jieba's dictionary segmentation gives precise word matches (电池, 正极材料) but
splits domain terms inconsistently between a short query and a long document; overlapping
character bigrams match whatever the segmentation did. Words and bigrams are kept as
separate terms (bigrams carry the prefix ``#``) so a two-character word is not counted twice.
jieba runs without its HMM (the Viterbi guess at words missing from its dictionary): the
bigrams already match such sequences, and without the HMM the analysis takes about a third
less time with the same relevance (docs/bench-notes/matching.md).

Normalisation is Unicode NFKC (full-width letters, digits and punctuation become half-width,
e.g. ``ＰＭ２．５`` → ``pm2.5``) followed by case folding. Text is then split into runs of
Chinese characters and runs of Latin letters/digits: ``锂电池NCM811`` → ``锂电池`` and
``ncm811``; ``PM2.5`` and ``5G`` stay single terms. Everything else is a separator.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from typing import Any

import jieba

from kechuang.kit.errors import InvalidInput

# Documented limits. A query longer than this is refused (an analyst pasted a whole file);
# a document longer than MAX_DOC_CHARS is analysed on its first MAX_DOC_CHARS characters.
MAX_QUERY_CHARS = 10_000
MAX_DOC_CHARS = 200_000
BIGRAM_PREFIX = "#"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[0-9a-z\u00c0-\u024f\u0370-\u03ff]+(?:[.\-+][0-9a-z]+)*")
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")

# Function words and boilerplate that carry no topic. Kept short on purpose: BM25's idf
# already discounts frequent terms; this list only removes words that are never a topic.
_STOP = """
的 了 和 与 及 或 在 是 对 为 中 等 将 把 被 由 从 向 以 于 其 之 而 且 并 也 都 就 这 那
此 该 各 每 个 一 一个 一种 一些 上 下 我们 本文 本 通过 进行 利用 使用 基于 关于 对于
可以 能够 可 能 已 所 如 若 因 因此 但 但是 然而 同时 以及 及其 并且 其中 具有 采用
提出 结果 表明 研究 方法 分析
a an the of and or in on for to with by from at as is are was were be this that these
we our it its
"""
# The language of requirements, in which enterprises write every demand ("要求…高于…",
# "希望…达到…", "研发…方案"): it says how much and how soon, never what about, so it must not
# make a demand match an achievement that happens to use the same verbs (issue 11, item 5).
# Dropped as words and as the bigram that spells the same two characters.
_REQUIREMENT = """
高于 低于 不低于 不高于 大于 小于 超过 不少于 不超过 以上 以下 左右 达到 实现 满足 要求 需要
需求 希望 寻求 急需 期望 提高 提升 降低 减少 研发 开发 研制 解决 方案 问题 难题 目前 现有
当前 我公司 公司 客户 整体 合作 能够 达 约
"""
REQUIREMENT_WORDS: frozenset[str] = frozenset(_REQUIREMENT.split())
STOP_WORDS: frozenset[str] = frozenset(_STOP.split()) | REQUIREMENT_WORDS
_STOP_PAIRS: frozenset[str] = frozenset(w for w in STOP_WORDS if len(w) == 2)

_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    """jieba's tokenizer, its dictionary loaded once per process and without log chatter.

    A private ``jieba.Tokenizer``: nothing another package does to the global jieba (adding
    words) changes how our documents are segmented.
    """
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def normalise(text: str) -> str:
    """NFKC (full-width → half-width) and case folding."""
    return unicodedata.normalize("NFKC", text).casefold()


def check_query(text: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"查询过长：{len(text):,} 个字符，上限 {MAX_QUERY_CHARS:,}。",
            f"Query too long: {len(text):,} characters, limit {MAX_QUERY_CHARS:,}.",
        )


def analyse(text: str, *, bigrams: bool = True, words: bool = True) -> list[str]:
    """Terms of ``text`` in order: for each Chinese run its jieba words then its bigrams; each
    Latin/digit run as one term. Stop words are dropped; an empty text gives no terms."""
    if not text:
        return []
    text = normalise(text[:MAX_DOC_CHARS])
    terms: list[str] = []
    for match in _RUNS.finditer(text):
        run = match.group()
        if not _CJK_RUN.match(run):
            if run not in STOP_WORDS:
                terms.append(run)
            continue
        if words:
            for word in _jieba().cut(run, HMM=False):
                if word not in STOP_WORDS:
                    terms.append(word)
        if bigrams:
            if len(run) == 1:
                if not words and run not in STOP_WORDS:
                    terms.append(run)
                continue
            for i in range(len(run) - 1):
                pair = run[i:i + 2]
                if (pair[0] in STOP_WORDS and pair[1] in STOP_WORDS) or pair in _STOP_PAIRS:
                    continue
                terms.append(BIGRAM_PREFIX + pair)
    return terms


def display(term: str) -> str:
    """A term as a person reads it (bigram prefix removed)."""
    return term[len(BIGRAM_PREFIX):] if term.startswith(BIGRAM_PREFIX) else term
