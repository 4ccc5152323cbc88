"""CSV / XLSX imports of the registries, in the style of kechuang.ingest: the file is read
defensively (kechuang.ingest.readers: encodings, zip bombs, sizes), every row is checked
against the same field rules as the forms, and every problem is reported with file, sheet,
row, column and field and a Chinese reason. All or nothing: one problem and nothing is
written; otherwise every row is written through the ``do_*`` services (with their audit
rows) in the caller's one transaction.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.ingest.readers import Sheet, read_file
from kechuang.kit.errors import Forbidden, InvalidInput, KechuangError
from kechuang.matching import repository as repo
from kechuang.matching import service
from kechuang.matching.schemas import (
    AchievementIn,
    CommissionerIn,
    DemandIn,
    FieldError,
    PositionIn,
)


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the Chinese header (also the field name in messages)
    aliases: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    columns: tuple[Column, ...]
    parse: Callable[[dict[str, Any]], Any]
    key: Callable[[dict[str, Any]], str | None]  # duplicate detection within the file
    key_label: str
    create: Callable[[Session, Actor, dict[str, Any]], Any]
    roles: frozenset[str]


def _create_achievement(session: Session, actor: Actor, data: dict[str, Any]) -> Any:
    return service.do_create_achievement(session, actor, data)


KINDS: dict[str, Kind] = {
    "demands": Kind(
        "demands", "技术需求",
        (Column("enterprise_uscc", "企业信用代码", ("统一社会信用代码", "uscc")),
         Column("title", "需求名称", ("标题", "title"), True),
         Column("description", "问题描述", ("description",)),
         Column("targets", "目标指标", ("targets",)),
         Column("industry_code", "行业代码", ("industry_code",)),
         Column("budget_min", "预算下限（万元）", ("预算下限", "budget_min")),
         Column("budget_max", "预算上限（万元）", ("预算上限", "budget_max")),
         Column("deadline", "截止日期", ("deadline",)),
         Column("visibility", "公开范围", ("visibility",))),
        DemandIn.parse, lambda d: f"{d.get('enterprise_uscc') or ''}|{d.get('title') or ''}",
        "企业信用代码 + 需求名称", service.do_create_demand,
        frozenset({"bureau_admin", "bureau_staff", "enterprise"})),
    "achievements": Kind(
        "achievements", "科技成果",
        (Column("code", "成果编号", ("编号", "id", "code")),
         Column("institute_code", "机构代码", ("institute_code",)),
         Column("enterprise_uscc", "企业信用代码", ("统一社会信用代码", "uscc")),
         Column("title", "成果名称", ("标题", "title"), True),
         Column("abstract", "摘要", ("abstract", "简介")),
         Column("keywords", "关键词", ("keywords",)),
         Column("discipline", "学科/领域", ("学科", "领域", "discipline")),
         Column("maturity", "成熟度", ("maturity",)),
         Column("trl", "技术就绪度 TRL", ("TRL", "trl", "技术就绪度")),
         Column("patent_numbers", "专利号", ("patent_numbers",)),
         Column("transfer_modes", "转化方式", ("transfer_modes",)),
         Column("price_min", "价格下限（万元）", ("价格下限", "price_min")),
         Column("price_max", "价格上限（万元）", ("价格上限", "price_max")),
         Column("visibility", "公开范围", ("visibility",))),
        AchievementIn.parse, lambda d: str(d.get("code") or "").strip() or None, "成果编号",
        _create_achievement,
        frozenset({"bureau_admin", "bureau_staff", "institute", "enterprise"})),
    "commissioners": Kind(
        "commissioners", "科技特派员",
        (Column("name", "姓名", ("name",), True),
         Column("expertise", "专长", ("expertise",)),
         Column("affiliation", "工作单位", ("affiliation",)),
         Column("capacity", "服务容量", ("capacity",))),
        CommissionerIn.parse,
        lambda d: f"{d.get('name') or ''}|{d.get('affiliation') or ''}", "姓名 + 工作单位",
        service.do_create_commissioner, frozenset({"bureau_admin", "bureau_staff"})),
    "positions": Kind(
        "positions", "人才需求岗位",
        (Column("enterprise_uscc", "企业信用代码", ("统一社会信用代码", "uscc")),
         Column("title", "岗位名称", ("title",), True),
         Column("field", "专业领域", ("field",), True),
         Column("degree", "学历要求", ("degree",)),
         Column("count", "需求人数", ("count",)),
         Column("industry_chain", "产业链", ("industry_chain",))),
        PositionIn.parse, lambda d: None, "", service.do_create_position,
        frozenset({"bureau_admin", "bureau_staff", "enterprise"})),
}


@dataclass(frozen=True)
class Problem:
    file: str
    sheet: str
    row: int | None
    column: str | None
    field: str
    reason: str

    def text(self) -> str:
        where = [f"文件“{self.file}”"]
        if self.sheet:
            where.append(f"工作表“{self.sheet}”")
        if self.row is not None:
            where.append(f"第 {self.row} 行")
        if self.column:
            where.append(f"{self.column} 列")
        return "，".join(where) + f"（{self.field}）：{self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sheet": self.sheet, "row": self.row, "column": self.column,
                "field": self.field, "reason": self.reason, "message": self.text()}


class ImportRejected(InvalidInput):
    """The file has problems; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        head = f"导入未执行：发现 {len(problems)} 处问题，未写入任何记录。"
        super().__init__(head + " " + problems[0].text(),
                         f"Import refused: {len(problems)} problems, nothing written.")
        self.problems = problems


def _norm(header: str) -> str:
    return unicodedata.normalize("NFKC", header).strip().lower().replace(" ", "")


def _header_map(kind: Kind, header: list[str]) -> dict[int, Column]:
    by_name: dict[str, Column] = {}
    for col in kind.columns:
        for name in (col.label, col.key, *col.aliases):
            by_name[_norm(name)] = col
    return {i: by_name[_norm(h)] for i, h in enumerate(header) if _norm(h) in by_name}


def _is_header(kind: Kind) -> Callable[[list[str]], bool]:
    required = [c for c in kind.columns if c.required]

    def check(cells: list[str]) -> bool:
        found = {c.key for c in _header_map(kind, cells).values()}
        return all(c.key in found for c in required)

    return check


def _field_to_column(kind: Kind, label: str) -> Column | None:
    for col in kind.columns:
        if label == col.label or label.startswith(col.label.split("（")[0]):
            return col
    return None


def check_file(session: Session, actor: Actor, kind_name: str, data: bytes, filename: str
               ) -> tuple[list[dict[str, Any]], list[Problem]]:
    kind = KINDS.get(kind_name)
    if kind is None:
        raise InvalidInput(f"未知的导入类型：{kind_name}（可选 {'、'.join(KINDS)}）",
                           f"Unknown import kind {kind_name}")
    if actor.role not in kind.roles:
        raise Forbidden(f"您的角色不能导入{kind.label}", "Your role may not import this")
    s = get_settings()
    workbook = read_file(data, filename, _is_header(kind), max_bytes=s.import_max_bytes,
                         max_rows=s.import_max_rows, max_unzipped=s.import_max_unzipped_bytes,
                         max_ratio=s.import_max_zip_ratio)
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: dict[str, tuple[str, int]] = {}
    for sheet in workbook.sheets:
        rows_of_sheet = _check_sheet(session, actor, kind, sheet, filename, problems, seen)
        rows.extend(rows_of_sheet)
    if not rows and not problems:
        problems.append(Problem(filename, "", None, None, "数据行",
                                "文件中没有数据行（表头下方为空）"))
    return rows, problems


def _check_sheet(session: Session, actor: Actor, kind: Kind, sheet: Sheet, filename: str,
                 problems: list[Problem], seen: dict[str, tuple[str, int]]
                 ) -> list[dict[str, Any]]:
    cols = _header_map(kind, sheet.header)
    letters = sheet.letters
    name = "" if sheet.name == "CSV" else sheet.name  # a CSV file has no sheets to name
    missing = [c.label for c in kind.columns if c.required and c not in cols.values()]
    if missing:
        problems.append(Problem(filename, name, sheet.header_row, None, "表头",
                                f"缺少必填列：{'、'.join(missing)}"))
        return []
    letter_of = {c.key: letters[i] for i, c in cols.items()}
    out = []
    codes: list[tuple[str, int]] = []
    for rownum, cells in sheet.rows:
        data: dict[str, Any] = {}
        for i, col in cols.items():
            data[col.key] = cells[i] if i < len(cells) else None
        if all(v is None or str(v).strip() == "" for v in data.values()):
            continue
        try:
            kind.parse(data)
        except FieldError as exc:
            bad = _field_to_column(kind, exc.label)
            problems.append(Problem(filename, name, rownum,
                                    letter_of.get(bad.key) if bad else None, exc.label,
                                    exc.reason))
            continue
        key = kind.key(data) if kind.key_label else None
        if key:
            if key in seen:
                first_sheet, first_row = seen[key]
                first = kind.columns[0]
                where = f"工作表“{first_sheet}”" if first_sheet else ""
                problems.append(Problem(
                    filename, name, rownum, letter_of.get(first.key), kind.key_label,
                    f"与{where}第 {first_row} 行重复（{key.strip('|')}）"))
                continue
            seen[key] = (name, rownum)
        if kind.name == "achievements" and data.get("code"):
            codes.append((str(data["code"]).strip(), rownum))
        out.append({"_row": rownum, "_sheet": name, **data})
    if codes:
        existing = repo.existing_achievement_codes(session, [c for c, _ in codes])
        for code, rownum in codes:
            if code in existing:
                problems.append(Problem(filename, name, rownum, letter_of.get("code"),
                                        "成果编号", f"{code} 已在成果库中"))
    return out


def do_import(session: Session, actor: Actor, kind_name: str, data: bytes,
              filename: str) -> int:
    """Check the whole file, then write every row; raises ImportRejected with the problems."""
    rows, problems = check_file(session, actor, kind_name, data, filename)
    if problems:
        raise ImportRejected(problems)
    kind = KINDS[kind_name]
    for row in rows:
        try:
            kind.create(session, actor, {k: v for k, v in row.items()
                                         if not k.startswith("_")})
        except KechuangError as exc:
            # a reference that exists only in the database (enterprise, institute, industry)
            problems.append(Problem(filename, row["_sheet"], row["_row"], None,
                                    str(exc.details.get("field") or "记录"), exc.message_zh))
    if problems:
        raise ImportRejected(problems)  # the caller's unit of work rolls the rows back
    return len(rows)
