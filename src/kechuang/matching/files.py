"""Reading and writing the ``match search`` files (docs/matching.md is the user's contract).

CORPUS.csv ``id,title,text`` (title may be empty), QUERIES.csv ``id,text``,
RUN.csv ``query_id,doc_id,rank,score``. Errors name the file, the row (the header is row 1,
as a spreadsheet numbers it) and the column. Extra columns are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kechuang.kit.csvfile import check_unique_ids, read_rows
from kechuang.kit.errors import InvalidInput
from kechuang.kit.safe_export import write_csv
from kechuang.matching import text as textmod
from kechuang.matching.index import Document, Hit

CORPUS_COLUMNS = ("id", "title", "text")
QUERY_COLUMNS = ("id", "text")
RUN_COLUMNS = ("query_id", "doc_id", "rank", "score")

@dataclass(frozen=True)
class Query:
    id: str
    text: str



def read_corpus(path: Path) -> list[Document]:
    rows = read_rows(path, CORPUS_COLUMNS)
    check_unique_ids(path, rows)
    return [Document(r["id"].strip(), r["title"], r["text"]) for _, r in rows]


def read_queries(path: Path) -> list[Query]:
    rows = read_rows(path, QUERY_COLUMNS)
    check_unique_ids(path, rows)
    queries: list[Query] = []
    for number, r in rows:
        if not textmod.analyse(r["text"][:textmod.MAX_QUERY_CHARS]):
            raise InvalidInput(
                f"文件 {path} 第 {number} 行 text 列：查询为空（没有可检索的文字）。",
                f"{path} row {number} column text: the query has no searchable text.")
        if len(r["text"]) > textmod.MAX_QUERY_CHARS:
            raise InvalidInput(
                f"文件 {path} 第 {number} 行 text 列：查询过长（{len(r['text']):,} 个字符，"
                f"上限 {textmod.MAX_QUERY_CHARS:,}）。",
                f"{path} row {number} column text: query longer than "
                f"{textmod.MAX_QUERY_CHARS:,} characters.")
        queries.append(Query(r["id"].strip(), r["text"]))
    return queries


def write_run(path: Path, queries: Sequence[Query], results: Sequence[Sequence[Hit]]) -> int:
    """Write RUN.csv atomically (a temporary file renamed into place); returns rows written."""
    rows = ([query.id, hit.doc_id, rank, f"{hit.score:.6f}"]
            for query, hits in zip(queries, results, strict=True)
            for rank, hit in enumerate(hits, start=1))
    return write_csv(path, RUN_COLUMNS, rows)
