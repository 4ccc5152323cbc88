"""The ``kechuang dispatch`` file formats (docs/cli/dispatch.md is the user's contract).

REQUESTS.csv ``id,title[,description,region_code,industry,team_size]``;
COMMISSIONERS.csv ``id,expertise,capacity[,name,affiliation,region_code]``;
CONFLICTS.csv ``request_id,commissioner_id[,reason]``;
OUT.csv ``request_id,kind,rank,commissioner_id,fit,note`` — ``kind`` is ``assigned``,
``alternate`` (rank 1 = best) or ``unserved`` (``note`` says which constraint binds).

CSV in UTF-8 (with or without BOM) or GB18030. Errors name the file, the row (the header is
row 1, as a spreadsheet numbers it) and the column. Extra columns are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kechuang.dispatch.assign import Result
from kechuang.dispatch.fit import CommissionerText, RequestText
from kechuang.kit.csvfile import check_unique_ids, read_rows
from kechuang.kit.errors import InvalidInput
from kechuang.kit.safe_export import write_csv

REQUEST_COLUMNS = ("id", "title")
REQUEST_OPTIONAL = ("description", "region_code", "industry", "team_size")
COMMISSIONER_COLUMNS = ("id", "expertise", "capacity")
COMMISSIONER_OPTIONAL = ("name", "affiliation", "region_code")
CONFLICT_COLUMNS = ("request_id", "commissioner_id")
OUT_COLUMNS = ("request_id", "kind", "rank", "commissioner_id", "fit", "note")
MAX_TEAM = 50
MAX_CAPACITY = 1000

@dataclass(frozen=True)
class FileRequest:
    text: RequestText
    team_size: int


@dataclass(frozen=True)
class FileCommissioner:
    text: CommissionerText
    name: str
    capacity: int


def _int(path: Path, number: int, column: str, value: str, low: int, high: int,
         default: int | None = None) -> int:
    if not value and default is not None:
        return default
    try:
        n = int(value.replace("，", "").replace(",", ""))
    except ValueError:
        raise InvalidInput(
            f"文件 {path} 第 {number} 行 {column} 列：“{value}”不是整数。",
            f"{path} row {number} column {column}: {value!r} is not an integer.") from None
    if not low <= n <= high:
        raise InvalidInput(
            f"文件 {path} 第 {number} 行 {column} 列：{n} 超出范围 {low}–{high}。",
            f"{path} row {number} column {column}: {n} outside {low}–{high}.")
    return n


def read_requests(path: Path) -> list[FileRequest]:
    rows = read_rows(path, REQUEST_COLUMNS, REQUEST_OPTIONAL, strip=True)
    check_unique_ids(path, rows)
    out: list[FileRequest] = []
    for number, r in rows:
        if not (r["title"] or r.get("description", "")):
            raise InvalidInput(f"文件 {path} 第 {number} 行 title 列：标题和描述都为空。",
                               f"{path} row {number} column title: no title or description.")
        team = _int(path, number, "team_size", r.get("team_size", ""), 1, MAX_TEAM, default=1)
        out.append(FileRequest(RequestText(r["id"], r["title"], r.get("description", ""),
                                           r.get("region_code", ""), r.get("industry", "")),
                               team))
    return out


def read_commissioners(path: Path) -> list[FileCommissioner]:
    rows = read_rows(path, COMMISSIONER_COLUMNS, COMMISSIONER_OPTIONAL, strip=True)
    check_unique_ids(path, rows)
    out: list[FileCommissioner] = []
    for number, r in rows:
        cap = _int(path, number, "capacity", r["capacity"], 0, MAX_CAPACITY)
        if not r["expertise"]:
            raise InvalidInput(f"文件 {path} 第 {number} 行 expertise 列：专长为空。",
                               f"{path} row {number} column expertise: empty.")
        out.append(FileCommissioner(
            CommissionerText(r["id"], r["expertise"], r.get("affiliation", ""),
                             r.get("region_code", "")), r.get("name", "") or r["id"], cap))
    return out


def read_conflicts(path: Path, request_ids: set[str],
                   commissioner_ids: set[str]) -> set[tuple[str, str]]:
    """Declared conflicts as (request id, commissioner id); unknown ids are an error (a typo
    would otherwise silently let a conflicted commissioner through)."""
    rows = read_rows(path, CONFLICT_COLUMNS, ("reason",), strip=True, allow_empty=True)
    out: set[tuple[str, str]] = set()
    for number, r in rows:
        if r["request_id"] not in request_ids:
            raise InvalidInput(
                f"文件 {path} 第 {number} 行 request_id 列："
                f"需求“{r['request_id']}”不在需求文件中。",
                f"{path} row {number} column request_id: unknown request {r['request_id']!r}.")
        if r["commissioner_id"] not in commissioner_ids:
            raise InvalidInput(
                f"文件 {path} 第 {number} 行 commissioner_id 列："
                f"特派员“{r['commissioner_id']}”不在特派员文件中。",
                f"{path} row {number} column commissioner_id: unknown commissioner "
                f"{r['commissioner_id']!r}.")
        out.add((r["request_id"], r["commissioner_id"]))
    return out


def write_result(path: Path, request_ids: Sequence[str], result: Result) -> int:
    """OUT.csv, written atomically; one block of rows per request in input order."""
    notes: dict[str, list[str]] = {}
    for e in result.explanations:
        for tid in e.task_ids:
            notes.setdefault(tid, []).append(e.message_zh)
    by_task: dict[str, list[list[object]]] = {tid: [] for tid in request_ids}
    for a in result.assignments:
        by_task[a.task_id].append([a.task_id, "assigned", "", a.person_id, f"{a.fit:.6f}", ""])
    for tid, alts in result.alternates.items():
        for rank, alt in enumerate(alts, start=1):
            by_task[tid].append([tid, "alternate", rank, alt.person_id, f"{alt.fit:.6f}",
                                 f"剩余容量 {alt.free}"])
    for tid, missing in result.missing.items():
        if missing:
            note = "；".join(notes.get(tid, [])) or "无可用的特派员"
            by_task[tid].insert(0, [tid, "unserved", "", "", "", f"缺 {missing} 名：{note}"])
    rows = (row for tid in request_ids for row in by_task[tid])
    return write_csv(path, OUT_COLUMNS, rows, encoding="utf-8-sig")
