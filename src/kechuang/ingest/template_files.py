"""Blank import templates a clerk downloads (issue 11, item 6): an XLSX with the header row,
one example row, dropdowns for coded columns and a notes sheet, or a CSV with the header row
and the example row.

Pure computation: the template and the metric catalogue in, the file's bytes out. Headers are
always the template's first (Chinese) header of each column, because those are what an upload
recognises; the notes sheet is written in the reader's language.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from kechuang.ingest.readers import CODES_SHEET, NOTES_SHEET
from kechuang.ingest.schemas import ImportTemplate
from kechuang.kit.safe_export import neutralise_row
from kechuang.kit.uscc import make_uscc
from kechuang.registry.catalogue import MetricDef

DATA_SHEET = "数据 Data"
EXAMPLE_USCC = make_uscc("91330000MA2ABCDE1")
EXAMPLE_YEAR = 2024
BOOL_LABELS = ("是", "否")
#: rows of the data sheet that carry the dropdowns (header + example + room to fill)
VALIDATED_ROWS = 5000


@dataclass(frozen=True)
class TemplateColumn:
    header: str
    kind: str  # uscc, period, metric_name (long), value (long), or a metric's value type
    metric: MetricDef | None = None
    choices: tuple[str, ...] = ()
    example: Any = ""


def _example(metric: MetricDef, choices: tuple[str, ...]) -> Any:
    if choices:
        return choices[-1] if metric.value_type == "enum" else choices[0]
    value = {"integer": 3, "date": "2025-12-31", "text": "GR202433000001",
             "number": 120.5}.get(metric.value_type, 120.5)
    if isinstance(value, int | float) and metric.min_value is not None:
        low = metric.min_value
        if value < low:  # a year such as 入库年度 (min 2017)
            value = int(low) if metric.value_type == "integer" else float(low)
    high = metric.max_value
    if isinstance(value, int | float) and high is not None and value > high:
        value = int(high) if metric.value_type == "integer" else float(high)
    return value


def _choices(metric: MetricDef, labels: dict[str, str] | None) -> tuple[str, ...]:
    if labels:
        return tuple(labels)
    if metric.value_type == "bool":
        return BOOL_LABELS
    if metric.value_type == "enum" and metric.allowed_values:
        return tuple(str(v) for v in metric.allowed_values)
    return ()


def template_columns(template: ImportTemplate, catalogue: dict[str, MetricDef]
                     ) -> list[TemplateColumn]:
    """The columns of the blank file: key columns first, then one column per metric."""
    cols = [TemplateColumn(template.keys.uscc[0], "uscc", example=EXAMPLE_USCC)]
    metrics = [catalogue[c.metric] for c in template.columns if c.metric in catalogue]
    monthly = any(m.period_type == "month" for m in metrics)
    if template.keys.period:
        cols.append(TemplateColumn(template.keys.period[0], "period",
                                   example=f"{EXAMPLE_YEAR}-05" if monthly else EXAMPLE_YEAR))
    if template.layout == "long":
        names = tuple(dict.fromkeys(c.headers[0] for c in template.columns))
        cols.append(TemplateColumn(template.keys.metric[0], "metric_name", choices=names,
                                   example=names[0] if names else ""))
        cols.append(TemplateColumn(template.keys.value[0], "value", example=5))
        return cols
    seen: set[str] = set()
    for c in template.columns:
        if c.metric in seen or c.metric not in catalogue:
            continue  # the first header of a metric; other units are alternatives
        seen.add(c.metric)
        metric = catalogue[c.metric]
        choices = _choices(metric, c.values)
        cols.append(TemplateColumn(c.headers[0], metric.value_type, metric, choices,
                                   _example(metric, choices)))
    return cols


_NOTES = {
    "zh": {
        "head": ("列", "含义", "单位", "类型", "可选值"),
        "uscc": "统一社会信用代码（18 位，含校验位）；示例行的代码仅为格式示例，请替换",
        "period": "期间：年份写 2024；月份写 2024-05",
        "metric_name": "指标（从下拉列表选择，或写指标代码）",
        "value": "该指标的数值",
        "types": {"number": "数值", "integer": "整数", "date": "日期（2025-12-31）",
                  "bool": "是/否", "enum": "代码（下拉选择）", "text": "文本",
                  "uscc": "代码", "period": "期间", "metric_name": "指标", "value": "数值"},
        "rules": [
            "缺失与零：不知道的值请留空（留空 = 缺失，不会当作 0）；确实为零的值请填写 0。",
            "“缺报即为零”的指标（如科技奖励、标准、股权融资）只在部门登记覆盖的企业和年度内"
            "把缺报视为 0，并在页面上标为推断值。",
            "金额单位为万元，除非表头写明“（元）”。",
            "第 2 行是示例，上传前请删除或改为真实数据；不要改动表头。",
            "以 =、+、-、@ 开头的文本在导出时会被中和，请勿填写公式。",
        ],
        "title": "模板", "department": "报送部门", "description": "说明",
    },
    "en": {
        "head": ("Column", "Meaning", "Unit", "Type", "Allowed values"),
        "uscc": "Unified social credit code (18 characters with check digit); the example "
                "row's code only shows the format — replace it",
        "period": "Period: a year as 2024, a month as 2024-05",
        "metric_name": "Metric (pick from the dropdown, or write the metric code)",
        "value": "The metric's value",
        "types": {"number": "number", "integer": "whole number", "date": "date (2025-12-31)",
                  "bool": "是 (yes) / 否 (no)", "enum": "code (pick from the dropdown)",
                  "text": "text", "uscc": "code", "period": "period", "metric_name": "metric",
                  "value": "number"},
        "rules": [
            "Missing versus zero: leave a cell empty when the value is unknown (empty = "
            "missing, never read as 0); write 0 when the value really is zero.",
            "Metrics whose absence means zero (awards, standards, equity financing…) are read "
            "as 0 only for the enterprises and years a department's register covered, and are "
            "shown as inferred.",
            "Amounts are in 10,000 yuan (万元) unless the header says （元）.",
            "Row 2 is an example: delete it or overwrite it with real data before uploading; "
            "do not change the headers.",
            "Text starting with =, +, - or @ is neutralised on export: write no formulas.",
        ],
        "title": "Template", "department": "Reporting department",
        "description": "Description",
    },
}


def _notes_rows(template: ImportTemplate, cols: list[TemplateColumn], locale: str
                ) -> list[list[Any]]:
    n = _NOTES["en" if locale == "en" else "zh"]
    types: dict[str, str] = n["types"]  # type: ignore[assignment]
    rows: list[list[Any]] = [
        [n["title"], f"{template.name} · {template.title}"],
        [n["department"], template.department_name],
        [n["description"], template.description],
        [],
        list(n["head"]),
    ]
    for c in cols:
        if c.metric is not None:
            meaning = c.metric.name_en if locale == "en" else c.metric.name_zh
            if c.metric.note and locale != "en":
                meaning = f"{meaning}：{c.metric.note}"
            unit = c.metric.unit or ""
        else:
            meaning, unit = str(n[c.kind]), ""
        rows.append([c.header, meaning, unit, types.get(c.kind, c.kind), "、".join(c.choices)])
    rows.append([])
    rows.extend([[r] for r in n["rules"]])
    return rows


def template_xlsx(template: ImportTemplate, catalogue: dict[str, MetricDef],
                  locale: str = "zh") -> bytes:
    """The blank XLSX: data sheet (header, one example row, dropdowns), notes, codes."""
    cols = template_columns(template, catalogue)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = DATA_SHEET
    ws.append([c.header for c in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F0")
    ws.append(neutralise_row([c.example for c in cols]))
    ws.freeze_panes = "A2"
    for i, c in enumerate(cols, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(14, len(c.header) * 2)
    coded = [(i, c) for i, c in enumerate(cols, start=1) if c.choices]
    if coded:
        codes = wb.create_sheet(CODES_SHEET)
        for j, (i, c) in enumerate(coded, start=1):
            codes.cell(1, j, c.header)
            for k, choice in enumerate(c.choices, start=2):
                codes.cell(k, j, neutralise_row([choice])[0])
            col = codes.cell(1, j).column_letter
            letter = ws.cell(1, i).column_letter
            dv = DataValidation(
                type="list", allow_blank=True, showErrorMessage=True,
                formula1=f"'{CODES_SHEET}'!${col}$2:${col}${len(c.choices) + 1}",
                errorTitle="无效代码 Invalid code",
                error=f"请从下拉列表选择 Pick a value from the list: {c.header}")
            dv.add(f"{letter}2:{letter}{VALIDATED_ROWS}")
            ws.add_data_validation(dv)
    notes = wb.create_sheet(NOTES_SHEET)
    for row in _notes_rows(template, cols, locale):
        notes.append(neutralise_row(row))
    notes.column_dimensions["A"].width = 36
    notes.column_dimensions["B"].width = 60
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_csv(template: ImportTemplate, catalogue: dict[str, MetricDef]) -> bytes:
    """The blank CSV: header row and the example row, UTF-8 with BOM (opens in Excel)."""
    cols = template_columns(template, catalogue)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.header for c in cols])
    writer.writerow(neutralise_row([c.example for c in cols]))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
