"""Reading and writing the ``match search`` files (docs/matching.md is the user's contract).

CORPUS.csv ``id,title,text`` (title may be empty), QUERIES.csv ``id,text``,
RUN.csv ``query_id,doc_id,rank,score``. Errors name the file, the row (the header is row 1,
as a spreadsheet numbers it) and the column. Extra columns are ignored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kechuang.kit.errors import InvalidInput
from kechuang.kit.safe_export import write_csv
from kechuang.matching import text as textmod
from kechuang.matching.index import Document, Hit

CORPUS_COLUMNS = ("id", "title", "text")
QUERY_COLUMNS = ("id", "text")
RUN_COLUMNS = ("query_id", "doc_id", "rank", "score")

csv.field_size_limit(16 * 1024 * 1024)


@dataclass(frozen=True)
class Query:
    id: str
    text: str


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"无法读取文件 {path}：{exc.strerror}",
                           f"Cannot read {path}: {exc.strerror}") from exc
    for encoding in ("utf-8-sig", "gb18030"):  # UTF-8, else the encoding of Chinese Excel
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"文件 {path} 不是 UTF-8 或 GB18030 编码的文本。",
                       f"{path} is not UTF-8 or GB18030 text.")


def _rows(path: Path, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    text = _decode(path)
    if not text.strip():
        raise InvalidInput(f"文件 {path} 为空：需要表头 {','.join(required)} 和数据行。",
                           f"{path} is empty: needs the header {','.join(required)} and rows.")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InvalidInput(f"文件 {path} 不是有效的 CSV：{exc}",
                           f"{path} is not valid CSV: {exc}") from exc
    header = [h.strip().lower() for h in records[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(
            f"文件 {path} 第 1 行（表头）缺少列：{'、'.join(missing)}；需要 {','.join(required)}。",
            f"{path} row 1 (header) lacks column(s) {', '.join(missing)}.")
    where = {c: header.index(c) for c in required}
    rows: list[tuple[int, dict[str, str]]] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if len(record) < len(header):
            record = record + [""] * (len(header) - len(record))
        rows.append((number, {c: record[i] for c, i in where.items()}))
    if not rows:
        raise InvalidInput(f"文件 {path} 只有表头，没有数据行。",
                           f"{path} has a header but no rows.")
    return rows


def _check_ids(path: Path, rows: list[tuple[int, dict[str, str]]]) -> None:
    seen: dict[str, int] = {}
    for number, row in rows:
        ident = row["id"].strip()
        if not ident:
            raise InvalidInput(f"文件 {path} 第 {number} 行 id 列：编号为空。",
                               f"{path} row {number} column id: empty id.")
        if ident in seen:
            raise InvalidInput(
                f"文件 {path} 第 {number} 行 id 列：编号“{ident}”与第 {seen[ident]} 行重复。",
                f"{path} row {number} column id: id {ident!r} repeats row {seen[ident]}.")
        seen[ident] = number


def read_corpus(path: Path) -> list[Document]:
    rows = _rows(path, CORPUS_COLUMNS)
    _check_ids(path, rows)
    return [Document(r["id"].strip(), r["title"], r["text"]) for _, r in rows]


def read_queries(path: Path) -> list[Query]:
    rows = _rows(path, QUERY_COLUMNS)
    _check_ids(path, rows)
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
