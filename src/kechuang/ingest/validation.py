"""Validation of every cell of an import against its template and the catalogue.

The result is a :class:`Plan`: the facts to write (per valid row), the enterprises to
create, and **every** problem with its sheet, spreadsheet row, column and reason. Nothing
here touches the database except through the lookups handed in, so the same plan serves a
dry run and a commit.

Per-cell work is a precompiled converter per column (one closure call per cell); a
million cells validate in a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from kechuang.ingest.parsing import (
    CellError,
    is_blank,
    parse_bool,
    parse_date,
    parse_number,
    parse_period,
    show,
    text_of,
)
from kechuang.ingest.readers import Formula, Sheet, Workbook, letter
from kechuang.ingest.schemas import ColumnMap, ImportTemplate, Problem, norm_header
from kechuang.kit.uscc import uscc_problem
from kechuang.registry.catalogue import MetricDef, metrics_by_code
from kechuang.registry.reference import normalise_industry_code

Q6 = Decimal("0.000001")
_SCALE = Decimal(10) ** 6
TEXT_MAX = 500
NAME_MAX = 200

#: (value_num, value_text) of one fact; value_num is a Decimal or, on SQLite, scaled int
Value = tuple[Any, str | None]
Converter = Callable[[Any], Value]


@dataclass
class Context:
    """What validation needs from the database, looked up by the service."""

    metric_ids: dict[str, int]
    regions: set[str]
    scope_regions: set[str] | None  # None: every region (the command line, national scope)
    lookup: Callable[[set[str]], dict[str, tuple[int, str]]]  # uscc → (id, region_code)
    scaled_ints: bool  # SQLite stores exact decimals as scaled integers


@dataclass
class Plan:
    facts: list[tuple[str, int, int, Any, str | None]] = field(default_factory=list)
    new_enterprises: dict[str, dict[str, Any]] = field(default_factory=dict)
    known: dict[str, tuple[int, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rows_total: int = 0
    rows_ok: int = 0
    rows_skipped: int = 0
    metric_codes: dict[int, str] = field(default_factory=dict)


def converter(metric: MetricDef, col: ColumnMap | None, ctx: Context) -> Converter:
    """A function turning one raw cell into the stored (value_num, value_text) of ``metric``."""
    scale = col.scale if col is not None else Decimal(1)
    lo, hi = metric.min_value, metric.max_value
    unit = metric.unit or ""
    scaled_ints = ctx.scaled_ints
    vt = metric.value_type

    if vt in ("number", "integer"):
        integer = vt == "integer"
        one = scale == 1

        def conv_number(raw: Any) -> Value:
            v = parse_number(raw)
            if not one:
                v = v * scale
            if lo is not None and v < lo:
                raise CellError(f"数值 {v.normalize():f}{unit} 小于下限 {lo:f}{unit}")
            if hi is not None and v > hi:
                raise CellError(f"数值 {v.normalize():f}{unit} 超过上限 {hi:f}{unit}")
            if integer and v != v.to_integral_value():
                raise CellError(f"应为整数，实为 {show(raw)}")
            try:
                v = v.quantize(Q6)
            except InvalidOperation as exc:
                raise CellError(f"数值“{show(raw)}”超出可存储范围") from exc
            if scaled_ints:
                return int(v * _SCALE), None
            return v, None

        return conv_number

    if vt == "date":

        def conv_date(raw: Any) -> Value:
            return None, parse_date(raw).isoformat()

        return conv_date

    if vt == "bool":

        def conv_bool(raw: Any) -> Value:
            return None, "true" if parse_bool(raw) else "false"

        return conv_bool

    if vt == "enum":
        allowed = tuple(metric.allowed_values or ())
        labels = {norm_header(k): v for k, v in ((col.values or {}) if col else {}).items()}
        labels.update({norm_header(a): a for a in allowed})
        hint = "、".join([*(col.values or {}).keys()] if col and col.values else allowed)

        def conv_enum(raw: Any) -> Value:
            code = labels.get(norm_header(text_of(raw)))
            if code is None:
                raise CellError(f"取值“{show(raw)}”无效，应为：{hint}")
            return None, code

        return conv_enum

    # text, with the master-data codes checked against the reference tables
    if metric.code == "industry_code":

        def conv_industry(raw: Any) -> Value:
            code, problem = normalise_industry_code(text_of(raw))
            if problem:
                raise CellError(problem)
            return None, code

        return conv_industry

    if metric.code == "region_code":
        regions, scope = ctx.regions, ctx.scope_regions

        def conv_region(raw: Any) -> Value:
            code = text_of(raw)
            if code not in regions:
                raise CellError(f"区域代码“{code}”不存在"
                                "（应为 GB/T 2260 代码或本地乡镇、园区代码）")
            if scope is not None and code not in scope:
                raise CellError(f"区域“{code}”不在您的辖区内")
            return None, code

        return conv_region

    limit = NAME_MAX if metric.code == "name" else TEXT_MAX

    def conv_text(raw: Any) -> Value:
        text = text_of(raw)
        if len(text) > limit:
            raise CellError(f"文本过长：{len(text)} 字，上限 {limit} 字")
        return None, text

    return conv_text


@dataclass
class _Col:
    index: int
    header: str
    letter: str
    kind: str  # uscc, period, metric, name, value, ignore, unknown
    metric: MetricDef | None = None
    metric_id: int = 0
    conv: Converter | None = None


class Validator:
    """Validates one workbook against one template."""

    def __init__(self, template: ImportTemplate, ctx: Context) -> None:
        self.t = template
        self.ctx = ctx
        self.plan = Plan()
        self.catalogue = metrics_by_code()
        self.uscc_keys = {norm_header(h) for h in template.keys.uscc}
        self.period_keys = {norm_header(h) for h in template.keys.period}
        self.metric_keys = {norm_header(h) for h in template.keys.metric}
        self.value_keys = {norm_header(h) for h in template.keys.value}
        self.ignore_keys = {norm_header(h) for h in template.ignore}
        self.by_name = {norm_header(m.name_zh): m for m in self.catalogue.values()}
        self.by_name.update({m.code: m for m in self.catalogue.values()})
        self._conv_cache: dict[tuple[str, int], Converter] = {}
        self.plan.metric_codes = {v: k for k, v in ctx.metric_ids.items()}

    def is_header(self, cells: list[str]) -> bool:
        return any(norm_header(c) in self.uscc_keys for c in cells if c)

    def problem(self, sheet: Sheet, row: int | None, col: _Col | None, value: Any,
                reason: str) -> None:
        self.plan.problems.append(Problem(
            sheet=sheet.name, row=row, column=col.header if col else "",
            letter=col.letter if col else "", value=show(value), reason=reason))

    def _first_occurrence(self, seen: dict[Any, tuple[str, int]], key: Any, sheet: Sheet,
                          row: int, col: _Col | None, value: Any, same: str) -> bool:
        """Remember where ``key`` first stood; a later row with the same key is a problem
        that names that first row. Returns whether this row is the first."""
        first = seen.get(key)
        if first is None:
            seen[key] = (sheet.name, row)
            return True
        where = (f"第{first[1]}行" if first[0] == sheet.name
                 else f"工作表“{first[0]}”第{first[1]}行")
        self.problem(sheet, row, col, value, f"重复行：与{where}是{same}")
        return False

    # --- headers ---------------------------------------------------------------------

    def _conv(self, metric: MetricDef, col: ColumnMap | None) -> Converter:
        key = (metric.code, id(col))
        if key not in self._conv_cache:
            self._conv_cache[key] = converter(metric, col, self.ctx)
        return self._conv_cache[key]

    def map_header(self, sheet: Sheet) -> list[_Col]:
        t = self.t
        cols: list[_Col] = []
        seen_metric: dict[str, _Col] = {}
        for i, head in enumerate(sheet.header):
            key = norm_header(head)
            col = _Col(i, head, letter(i), "unknown")
            if not key:
                col.kind = "blank"
            elif key in self.uscc_keys:
                col.kind = "uscc"
            elif key in self.period_keys:
                col.kind = "period"
            elif t.layout == "long" and key in self.metric_keys:
                col.kind = "metric_name"
            elif t.layout == "long" and key in self.value_keys:
                col.kind = "value"
            elif key in self.ignore_keys:
                col.kind = "ignore"
            elif t.layout == "wide" and key in t.header_index:
                cm = t.header_index[key]
                metric = self.catalogue[cm.metric]
                col.kind, col.metric = "metric", metric
                col.metric_id = self.ctx.metric_ids[metric.code]
                col.conv = self._conv(metric, cm)
                if metric.code in seen_metric:
                    other = seen_metric[metric.code]
                    self.problem(sheet, sheet.header_row, col, head,
                                 f"与 {other.letter} 列“{other.header}”映射到同一指标"
                                 f"“{metric.name_zh}”，请只保留一列")
                    col.kind = "duplicate"
                seen_metric[metric.code] = col
            else:
                m = self.by_name.get(key)
                if m is not None and t.department not in m.sources:
                    self.problem(sheet, sheet.header_row, col, head,
                                 f"{t.department_name}不是指标“{m.name_zh}”的数据来源"
                                 f"（来源：{'、'.join(m.sources)}），此列不能导入")
                elif m is not None:
                    self.problem(sheet, sheet.header_row, col, head,
                                 f"未知列：模板“{t.name}”未映射指标“{m.name_zh}”；"
                                 "请删除此列或在模板中增加映射")
                else:
                    self.problem(sheet, sheet.header_row, col, head,
                                 f"未知列：模板“{t.name}”中没有此表头；请删除此列、改正表头，"
                                 "或在模板中增加映射或将其列入 ignore")
            cols.append(col)
        kinds = {c.kind for c in cols}
        required = ["period"] if t.layout == "wide" and t.keys.period else []
        if t.layout == "long":
            required = ["period", "metric_name", "value"]
        needs_period = t.layout == "long" or any(
            c.metric is not None and c.metric.period_type != "attr" for c in cols)
        names = {"period": t.keys.period, "metric_name": t.keys.metric, "value": t.keys.value}
        for kind in required:
            if kind == "period" and not needs_period:
                continue
            if kind not in kinds:
                self.problem(sheet, sheet.header_row, None, "",
                             f"缺少必需的列“{names[kind][0]}”（可用表头："
                             f"{'、'.join(names[kind])}）")
        if sum(1 for c in cols if c.kind == "uscc") > 1:
            self.problem(sheet, sheet.header_row, None, "", "统一社会信用代码列出现多次")
        return cols

    # --- rows ------------------------------------------------------------------------

    def run(self, workbook: Workbook) -> Plan:
        mapped = [(sheet, self.map_header(sheet)) for sheet in workbook.sheets]
        usccs: set[str] = set()
        for sheet, cols in mapped:
            ui = next((c.index for c in cols if c.kind == "uscc"), None)
            if ui is None:
                continue
            for _, values in sheet.rows:
                if ui < len(values) and isinstance(values[ui], str | int):
                    usccs.add(str(values[ui]).strip())
        self.plan.known = self.ctx.lookup(usccs) if usccs else {}
        seen_rows: dict[tuple[Any, ...], tuple[str, int]] = {}
        seen_attr: dict[tuple[str, int], tuple[str, int, str | None, Any]] = {}
        for sheet, cols in mapped:
            if self.t.layout == "wide":
                self._wide(sheet, cols, seen_rows, seen_attr)
            else:
                self._long(sheet, cols, seen_rows)
        return self.plan

    def _uscc(self, sheet: Sheet, rownum: int, col: _Col, values: list[Any]) -> str | None:
        raw = values[col.index] if col.index < len(values) else None
        if is_blank(raw):
            self.problem(sheet, rownum, col, raw, "统一社会信用代码为空（必填）")
            return None
        if isinstance(raw, Formula):
            self.problem(sheet, rownum, col, raw.text,
                         "单元格含公式：只接受数值，请粘贴为数值后重新导入")
            return None
        code = text_of(raw)
        problem = uscc_problem(code)
        if problem:
            self.problem(sheet, rownum, col, raw, problem)
            return None
        return code

    def _enterprise(self, sheet: Sheet, rownum: int, col: _Col, code: str,
                    master: dict[str, Any]) -> bool:
        """Known and in scope, or creatable: True when the row may be imported."""
        known = self.plan.known.get(code)
        scope = self.ctx.scope_regions
        outside = known is not None and scope is not None and known[1] not in scope
        if known is not None and not outside:
            return True
        if not self.t.create_enterprises or outside:
            # an enterprise outside the caller's region reads exactly like one that is not
            # registered: the answer must not tell whether it exists (issue 17, item 2)
            self.problem(sheet, rownum, col, code,
                         f"企业未登记或不在您的辖区内：统一社会信用代码“{code}”不在您可导入的"
                         f"企业中，模板“{self.t.name}”不能新建企业（请先用市场监管登记数据导入，"
                         "或由企业所在辖区导入）")
            return False
        missing = [label for key, label in (("name", "企业名称"), ("region_code", "所属区域代码"),
                                             ("industry_code", "行业代码"))
                   if master.get(key) is None]
        if missing:
            self.problem(sheet, rownum, col, code,
                         f"新建企业需要{'、'.join(missing)}（该企业尚未登记）")
            return False
        if code in self.plan.new_enterprises:
            return True
        self.plan.new_enterprises[code] = {
            "uscc": code, "name": master["name"], "region_code": master["region_code"],
            "industry_code": master["industry_code"], "founded_on": master.get("founded_on"),
        }
        return True

    def _wide(self, sheet: Sheet, cols: list[_Col],
              seen_rows: dict[tuple[Any, ...], tuple[str, int]],
              seen_attr: dict[tuple[str, int], tuple[str, int, str | None, Any]]) -> None:
        plan = self.plan
        ucol = next((c for c in cols if c.kind == "uscc"), None)
        pcol = next((c for c in cols if c.kind == "period"), None)
        metric_cols = [c for c in cols if c.kind == "metric"]
        blank_cols = [c for c in cols if c.kind == "blank"]
        blank_reported: set[int] = set()
        width = len(cols)
        master_ids = {c.metric_id: c.metric.code for c in metric_cols
                      if c.metric is not None and c.metric.code in
                      ("name", "region_code", "industry_code", "founded_on")}
        for rownum, values in sheet.rows:
            plan.rows_total += 1
            n_before = len(plan.problems)
            if len(values) > width and any(not is_blank(v) for v in values[width:]):
                j = next(i for i in range(width, len(values)) if not is_blank(values[i]))
                if -1 - j not in blank_reported:
                    blank_reported.add(-1 - j)
                    self.problem(sheet, sheet.header_row, _Col(j, "", letter(j), "blank"),
                                 values[j], "此列有数据但没有表头，无法识别")
            for c in blank_cols:
                if c.index < len(values) and not is_blank(values[c.index]) \
                        and c.index not in blank_reported:
                    blank_reported.add(c.index)
                    self.problem(sheet, sheet.header_row, c, values[c.index],
                                 "此列有数据但没有表头，无法识别")
            code = self._uscc(sheet, rownum, ucol, values) if ucol else None
            year = month = None
            if pcol is not None:
                raw = values[pcol.index] if pcol.index < len(values) else None
                if is_blank(raw):
                    self.problem(sheet, rownum, pcol, raw, "期间为空（必填）")
                elif isinstance(raw, Formula):
                    self.problem(sheet, rownum, pcol, raw.text, "单元格含公式：只接受数值")
                else:
                    try:
                        year, month = parse_period(raw)
                    except CellError as exc:
                        self.problem(sheet, rownum, pcol, raw, str(exc))
            row_facts: list[tuple[str, int, int, Any, str | None]] = []
            master: dict[str, Any] = {}
            period_bad = False
            for c in metric_cols:
                raw = values[c.index] if c.index < len(values) else None
                if raw is None or (type(raw) is str and not raw.strip()):
                    continue
                if isinstance(raw, Formula):
                    self.problem(sheet, rownum, c, raw.text,
                                 "单元格含公式：只接受数值，请粘贴为数值后重新导入")
                    continue
                try:
                    num, text = c.conv(raw)  # type: ignore[misc]
                except CellError as exc:
                    self.problem(sheet, rownum, c, raw, str(exc))
                    continue
                metric = c.metric
                assert metric is not None
                pt = metric.period_type
                if pt == "attr":
                    period = 0
                elif year is None:
                    continue  # the period problem is already reported
                elif pt == "year":
                    if month is not None:
                        period_bad = True
                        continue
                    period = year
                else:
                    if month is None:
                        period_bad = True
                        continue
                    period = year * 100 + month
                if c.metric_id in master_ids:
                    master[master_ids[c.metric_id]] = text
                row_facts.append((code or "", c.metric_id, period, num, text))
            if period_bad and pcol is not None:
                kinds = {c.metric.period_type for c in metric_cols if c.metric}
                want = "年月（如 2023-05）" if month is None else "年份（如 2023）"
                if "year" in kinds and "month" in kinds:
                    want = "与指标的期间类型一致"
                self.problem(sheet, rownum, pcol, values[pcol.index], f"期间应为{want}")
            first = code is not None and self._first_occurrence(
                seen_rows, (code, year, month), sheet, rownum, ucol, code, "同一企业、同一期间")
            if first and len(plan.problems) == n_before:
                self._enterprise(sheet, rownum, ucol, code, master)  # type: ignore[arg-type]
            if len(plan.problems) != n_before or code is None:
                plan.rows_skipped += 1
                continue
            # attributes given twice (two rows of one enterprise in different years)
            kept = []
            for f in row_facts:
                if f[2] == 0:
                    k = (code, f[1])
                    prev = seen_attr.get(k)
                    if prev is not None:
                        if (prev[2], prev[3]) != (f[4], f[3]):
                            self.problem(sheet, rownum, None, f[4] if f[4] is not None else f[3],
                                         f"属性“{plan.metric_codes.get(f[1], f[1])}”与第{prev[1]}行"
                                         "的取值不同（同一企业只能有一个值）")
                        continue
                    seen_attr[k] = (sheet.name, rownum, f[4], f[3])
                kept.append((code, f[1], f[2], f[3], f[4]))
            if len(plan.problems) != n_before:
                plan.rows_skipped += 1
                continue
            plan.facts.extend(kept)
            plan.rows_ok += 1

    def _long(self, sheet: Sheet, cols: list[_Col],
              seen: dict[tuple[Any, ...], tuple[str, int]]) -> None:
        plan = self.plan
        t = self.t
        ucol = next((c for c in cols if c.kind == "uscc"), None)
        pcol = next((c for c in cols if c.kind == "period"), None)
        mcol = next((c for c in cols if c.kind == "metric_name"), None)
        vcol = next((c for c in cols if c.kind == "value"), None)
        if not (ucol and pcol and mcol and vcol):
            plan.rows_total += len(sheet.rows)
            plan.rows_skipped += len(sheet.rows)
            return
        metric_index: dict[str, tuple[MetricDef, ColumnMap | None]] = {}
        for label, mdef in self.by_name.items():
            metric_index[label] = (mdef, None)
        for label, colmap in t.header_index.items():
            metric_index[label] = (self.catalogue[colmap.metric], colmap)
        for colmap in t.columns:
            metric_index[colmap.metric] = (self.catalogue[colmap.metric], colmap)
        for rownum, values in sheet.rows:
            plan.rows_total += 1
            n_before = len(plan.problems)

            def cell(c: _Col, values: list[Any] = values) -> Any:
                return values[c.index] if c.index < len(values) else None

            code = self._uscc(sheet, rownum, ucol, values)
            raw_m = cell(mcol)
            metric: MetricDef | None = None
            cm: ColumnMap | None = None
            if is_blank(raw_m):
                self.problem(sheet, rownum, mcol, raw_m, "指标为空（必填）")
            else:
                found = metric_index.get(norm_header(text_of(raw_m)))
                if found is None:
                    self.problem(sheet, rownum, mcol, raw_m,
                                 "未知指标：应为指标代码、指标中文名或模板中的别名")
                else:
                    metric, cm = found
                    if t.department not in metric.sources:
                        self.problem(sheet, rownum, mcol, raw_m,
                                     f"{t.department_name}不是指标“{metric.name_zh}”的数据来源"
                                     f"（来源：{'、'.join(metric.sources)}）")
                        metric = None
            period = None
            raw_p = cell(pcol)
            if is_blank(raw_p):
                self.problem(sheet, rownum, pcol, raw_p, "期间为空（必填）")
            elif metric is not None:
                try:
                    year, month = parse_period(raw_p)
                    if metric.period_type == "attr":
                        period = 0
                    elif metric.period_type == "year":
                        if month is not None:
                            raise CellError(f"指标“{metric.name_zh}”按年统计，"
                                            "期间应为年份（如 2023）")
                        period = year
                    else:
                        if month is None:
                            raise CellError(f"指标“{metric.name_zh}”按月统计，"
                                            "期间应为年月（如 2023-05）")
                        period = year * 100 + month
                except CellError as exc:
                    self.problem(sheet, rownum, pcol, raw_p, str(exc))
            raw_v = cell(vcol)
            num = text = None
            has_value = False
            if isinstance(raw_v, Formula):
                self.problem(sheet, rownum, vcol, raw_v.text, "单元格含公式：只接受数值")
            elif not is_blank(raw_v) and metric is not None:
                try:
                    num, text = self._conv(metric, cm)(raw_v)
                    has_value = True
                except CellError as exc:
                    self.problem(sheet, rownum, vcol, raw_v, str(exc))
            if code is not None and metric is not None and period is not None:
                self._first_occurrence(seen, (code, metric.code, period), sheet, rownum, ucol,
                                       code, "同一企业、同一指标、同一期间")
                if len(plan.problems) == n_before:
                    self._enterprise(sheet, rownum, ucol, code, {})
            if len(plan.problems) != n_before or code is None or metric is None \
                    or period is None:
                plan.rows_skipped += 1
                continue
            plan.rows_ok += 1
            if has_value:
                plan.facts.append((code, self.ctx.metric_ids[metric.code], period, num, text))
