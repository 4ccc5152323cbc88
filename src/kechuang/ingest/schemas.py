"""Import templates (YAML data files) and the shapes of an import's result.

A template maps a department's Chinese column headers to metric codes of the catalogue.
Templates are data a bureau edits, so every mistake in one is reported with the file, the
line and the key (``TemplateError``), never as a Python traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kechuang.kit import rules
from kechuang.kit.errors import InvalidInput
from kechuang.registry.catalogue import MetricDef, departments_by_code, metrics_by_code

#: attribute metrics that are also the master fields of an enterprise
MASTER_METRICS = ("name", "region_code", "industry_code", "founded_on")
#: master fields a row must carry to create an enterprise
CREATE_REQUIRED = ("name", "region_code", "industry_code")


class TemplateError(InvalidInput):
    """A template that does not validate; ``problems`` lists (line, key, reason)."""

    def __init__(self, source: str, problems: list[tuple[int | None, str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [
            f"{source}" + (f" 第{line}行" if line else "") + (f"，键“{key}”" if key else "")
            + f"：{reason}"
            for line, key, reason in problems
        ]
        super().__init__("导入模板无效：\n" + "\n".join(lines),
                         "Invalid import template:\n" + "\n".join(lines))


def norm_header(text: str) -> str:
    """Headers compare without spaces, with full-width brackets and letters made half-width."""
    text = text.translate(_FULLWIDTH).strip()
    return re.sub(r"\s+", "", text).lower()


_FULLWIDTH = str.maketrans(
    {**{chr(0xFF01 + i): chr(0x21 + i) for i in range(94)}, "\u3000": " "}
)


class KeyColumns(BaseModel):
    """Header aliases of the key columns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uscc: list[str] = Field(min_length=1)
    period: list[str] = Field(default_factory=list)
    metric: list[str] = Field(default_factory=list)  # long layout only
    value: list[str] = Field(default_factory=list)  # long layout only


class ColumnMap(BaseModel):
    """One metric and the headers (wide) or metric-column labels (long) that carry it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    headers: list[str] = Field(min_length=1)
    scale: Decimal = Decimal(1)
    values: dict[str, str] | None = None  # enum labels → codes (e.g. 省级 → province)

    @field_validator("scale")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("scale 必须为正数")
        return v


class ImportTemplate(BaseModel):
    """One department's file layout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_\-]{1,63}$")
    title: str = Field(min_length=1, max_length=100)
    department: str
    layout: Literal["wide", "long"]
    create_enterprises: bool = False
    description: str = ""
    keys: KeyColumns
    columns: list[ColumnMap] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)  # headers deliberately skipped (序号, 备注)

    @model_validator(mode="after")
    def _check(self) -> ImportTemplate:
        problems: list[str] = []
        metrics = metrics_by_code()
        departments = departments_by_code()
        if self.department not in departments:
            problems.append(f"department：未知部门“{self.department}”"
                            f"（可选：{'、'.join(sorted(departments))}）")
        seen: dict[str, str] = {}
        for i, col in enumerate(self.columns):
            m = metrics.get(col.metric)
            if m is None:
                problems.append(f"columns[{i}].metric：指标“{col.metric}”不在指标目录中")
                continue
            if self.department in departments and self.department not in m.sources:
                problems.append(
                    f"columns[{i}].metric：部门“{self.department}”不是指标“{col.metric}”"
                    f"（{m.name_zh}）的数据来源（来源：{'、'.join(m.sources) or '无'}）")
            if col.values is not None:
                allowed = set(m.allowed_values or ())
                bad = [v for v in col.values.values() if v not in allowed]
                if m.value_type != "enum" or bad:
                    problems.append(f"columns[{i}].values：只能用于枚举指标，且取值须为"
                                    f"{'、'.join(sorted(allowed)) or '（无）'}")
            if col.scale != 1 and m.value_type not in ("number", "integer"):
                problems.append(f"columns[{i}].scale：只有数值指标可以换算单位")
            for h in col.headers:
                key = norm_header(h)
                if key in seen:
                    problems.append(f"columns[{i}].headers：表头“{h}”与“{seen[key]}”重复")
                seen[key] = h
        keyheads = [*self.keys.uscc, *self.keys.period, *self.keys.metric, *self.keys.value]
        if self.layout == "wide":
            for h in keyheads + self.ignore:
                if norm_header(h) in seen:
                    problems.append(f"keys/ignore：表头“{h}”已用于指标列")
            needs_period = any(
                metrics[c.metric].period_type != "attr" for c in self.columns if c.metric in metrics
            )
            if needs_period and not self.keys.period:
                problems.append("keys.period：模板含年度或月度指标，必须给出期间列的表头")
            if not self.columns:
                problems.append("columns：宽表模板至少要映射一个指标")
        else:
            for k in ("period", "metric", "value"):
                if not getattr(self.keys, k):
                    problems.append(f"keys.{k}：长表模板必须给出该列的表头")
        if self.create_enterprises:
            mapped = {c.metric for c in self.columns}
            missing = [m for m in CREATE_REQUIRED if m not in mapped]
            if self.layout == "long":
                problems.append("create_enterprises：只有宽表模板可以新建企业")
            elif missing:
                problems.append("create_enterprises：可新建企业的模板必须映射 "
                                + "、".join(missing) + " 列")
        if problems:
            raise ValueError("；".join(problems))
        return self

    # --- lookups used by validation
    @cached_property
    def header_index(self) -> dict[str, ColumnMap]:
        return {norm_header(h): c for c in self.columns for h in c.headers}

    @cached_property
    def metric_defs(self) -> dict[str, MetricDef]:
        metrics = metrics_by_code()
        return {c.metric: metrics[c.metric] for c in self.columns}

    @property
    def department_name(self) -> str:
        d = departments_by_code().get(self.department)
        return d.name_zh if d else self.department


# --- parsing YAML with line numbers -------------------------------------------------------

_PYDANTIC_REASONS = {
    "extra_forbidden": "未知的键（模板不允许此键）",
    "missing": "缺少必填的键",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "dict_type": "应为映射（键: 值）",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "decimal_parsing": "应为数字",
    "literal_error": "取值不在允许范围内",
    "string_pattern_mismatch": "格式不符（小写字母开头，仅含小写字母、数字、_ 和 -）",
    "too_short": "不能为空",
    "model_type": "应为映射（键: 值）",
}


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int | None, str]:
    """Follow a Pydantic error location through the YAML node tree: (1-based line, key)."""
    line = node.start_mark.line + 1 if node is not None else None
    key = ""
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            key = part
            found = None
            for k, v in node.value:
                if k.value == part:
                    line = k.start_mark.line + 1
                    found = v
                    break
            if found is None:
                break
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            key = f"{key}[{part}]"
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line, ".".join(str(p) for p in loc) or key


def parse_template(text: str, source: str) -> ImportTemplate:
    """Parse and validate one template's YAML through the one rule loader
    (:mod:`kechuang.kit.rules`: duplicate keys refused); errors name ``source``, line and key."""
    try:
        data = rules.parse_yaml(text, source)
    except rules.RuleFileError as exc:
        raise TemplateError(source, [(line, key, msg) for line, key, msg in exc.errors]
                            ) from exc
    if not isinstance(data, dict):
        raise TemplateError(source, [(1, "", "模板应为一个映射（name、department、layout …）")])
    try:
        return ImportTemplate.model_validate(data)
    except ValidationError as exc:
        problems: list[tuple[int | None, str, str]] = []
        for err in exc.errors():
            line, key = rules.locate(data, tuple(err.get("loc", ())))
            reason = _PYDANTIC_REASONS.get(err["type"])
            if err["type"] == "value_error":
                reason = str(err.get("ctx", {}).get("error", err["msg"]))
            problems.append((line, key, reason or err["msg"]))
        raise TemplateError(source, problems) from exc


# --- results ------------------------------------------------------------------------------


@dataclass(slots=True)
class Problem:
    """One problem of an import, where the user sees it in the spreadsheet."""

    sheet: str
    row: int | None  # 1-based row number as shown by the spreadsheet; None = whole file
    column: str  # header text
    letter: str  # column letter (A, B, … AA)
    value: str
    reason: str

    @property
    def column_label(self) -> str:
        if self.column and self.letter:
            return f"{self.column}（{self.letter}列）"
        return self.column or (f"{self.letter}列" if self.letter else "")

    def as_row(self) -> list[Any]:
        return [self.sheet, self.row if self.row is not None else "", self.column_label,
                self.value, self.reason]

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column,
                "letter": self.letter, "value": self.value, "reason": self.reason}


@dataclass
class ChangedValue:
    uscc: str
    name: str
    metric: str
    metric_name: str
    period: int
    old: str
    new: str


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    ok: bool
    filename: str
    template: str
    dry_run: bool = False
    valid_rows_only: bool = False
    already_imported: bool = False
    batch_id: int | None = None
    report_id: int | None = None
    content_hash: str = ""
    rows_total: int = 0
    rows_imported: int = 0
    rows_skipped: int = 0
    facts_new: int = 0
    facts_changed: int = 0
    facts_unchanged: int = 0
    enterprises_created: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    new_enterprises: list[dict[str, str]] = field(default_factory=list)
    changes: list[ChangedValue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "filename": self.filename, "template": self.template,
            "dry_run": self.dry_run, "valid_rows_only": self.valid_rows_only,
            "already_imported": self.already_imported, "batch_id": self.batch_id,
            "report_id": self.report_id, "content_hash": self.content_hash,
            "rows_total": self.rows_total, "rows_imported": self.rows_imported,
            "rows_skipped": self.rows_skipped, "facts_new": self.facts_new,
            "facts_changed": self.facts_changed, "facts_unchanged": self.facts_unchanged,
            "enterprises_created": self.enterprises_created,
            "problem_count": self.problem_count,
            "problems": [p.as_dict() for p in self.problems],
            "new_enterprises": self.new_enterprises,
            "changes": [c.__dict__ for c in self.changes],
            "notes": self.notes, "message": self.message,
        }


class ImportJobOut(BaseModel):
    """An upload queued as a job (``as_job``): follow ``status_url`` until it is done."""

    job_id: int
    status: str = "queued"
    status_url: str
    page_url: str


class BatchOut(BaseModel):
    """A batch as the JSON API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    template: str
    department_code: str
    filename: str
    content_hash: str
    layout: str
    valid_rows_only: bool
    status: str
    rows_total: int
    rows_imported: int
    facts_new: int
    facts_changed: int
    facts_unchanged: int
    enterprises_created: int
    problems: int
    region_code: str | None
    created_by: int | None
    created_at: Any
    rolled_back_at: Any | None = None


class ProblemOut(BaseModel):
    """One problem of an import: sheet, 1-based row (None: the whole file), column header
    and letter, the value and why (Chinese)."""

    sheet: str
    row: int | None
    column: str
    letter: str
    value: str
    reason: str


class ChangedValueOut(BaseModel):
    uscc: str
    name: str
    metric: str
    metric_name: str
    period: int
    old: str
    new: str


class ImportResultOut(BaseModel):
    """What an import did (or, for a dry run, would do): 200 when it was written (or would
    be), 422 with every problem when nothing was imported."""

    ok: bool
    filename: str
    template: str
    dry_run: bool
    valid_rows_only: bool
    already_imported: bool
    batch_id: int | None
    report_id: int | None
    content_hash: str
    rows_total: int
    rows_imported: int
    rows_skipped: int
    facts_new: int
    facts_changed: int
    facts_unchanged: int
    enterprises_created: int
    problem_count: int
    #: at most ``problem_report_cap`` problems; the full report is at ``report_url``
    problems: list[ProblemOut]
    problems_truncated: bool = False
    report_url: str | None = None
    new_enterprises: list[dict[str, Any]]
    changes: list[ChangedValueOut]
    notes: list[str]
    message: str
