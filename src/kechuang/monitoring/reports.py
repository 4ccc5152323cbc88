"""The dispatch report (调度报告) of the key tasks, as XLSX and as a real PDF with Chinese
text (reportlab's built-in CID font STSong-Light: no font file needed, the reader supplies
the glyphs), and the indicator export."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from kechuang.kit.safe_export import neutralise
from kechuang.kit.xlsx import write_xlsx
from kechuang.monitoring.schemas import Dashboard, TaskOut

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

STATUS = {"on_track": ("正常推进", "on track"), "at_risk": ("存在风险", "at risk"),
          "delayed": ("滞后", "delayed"), "done": ("已完成", "done"),
          "open": ("进行中", "open"), "cancelled": ("已撤销", "cancelled")}
HEAD = {
    "zh": ["部门", "任务数", "已完成", "逾期", "有风险", "平均进度（%）"],
    "en": ["Department", "Tasks", "Done", "Overdue", "At risk", "Average progress (%)"],
}
TASK_HEAD = {
    "zh": ["编号", "任务", "责任部门", "截止日期", "进度（%）", "最近报告", "状态", "标记"],
    "en": ["Code", "Task", "Department", "Deadline", "Progress (%)", "Last report", "Status",
           "Flags"],
}


def _flag(t: TaskOut, locale: str) -> str:
    parts = []
    if t.overdue:
        parts.append("逾期" if locale == "zh" else "overdue")
    if t.at_risk:
        parts.append("有风险" if locale == "zh" else "at risk")
    return "、".join(parts) if locale == "zh" else ", ".join(parts)


def _status(t: TaskOut, locale: str) -> str:
    key = t.latest_status if t.status == "open" and t.latest_status else t.status
    zh, en = STATUS.get(key, (key, key))
    return en if locale == "en" else zh


def _summary_rows(summary: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [[s["department"], s["tasks"], s["done"], s["overdue"], s["at_risk"],
             "" if s["progress"] is None else round(s["progress"], 1)] for s in summary]


def _task_rows(items: Sequence[TaskOut], locale: str) -> list[list[Any]]:
    return [[t.code, t.title, t.department, t.deadline.isoformat(),
             "" if t.progress is None else t.progress, t.last_report or "",
             _status(t, locale), _flag(t, locale)] for t in items]


def dispatch_xlsx(title: str, on: date, summary: Sequence[dict[str, Any]],
                  items: Sequence[TaskOut], locale: str = "zh") -> bytes:
    sheets = [
        ("调度汇总" if locale == "zh" else "Summary", HEAD[locale], _summary_rows(summary)),
        ("任务明细" if locale == "zh" else "Tasks", TASK_HEAD[locale], _task_rows(items, locale)),
    ]
    return write_xlsx(sheets)


def dispatch_pdf(title: str, on: date, summary: Sequence[dict[str, Any]],
                 items: Sequence[TaskOut], locale: str = "zh") -> bytes:
    """A4 landscape: title, date, the per-department summary, then every task."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=12 * mm,
                            rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title=title, author="kechuang")
    h1 = ParagraphStyle("h1", fontName=FONT, fontSize=16, leading=22)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10)

    def table(head: list[str], rows: list[list[Any]], widths: list[float]) -> Table:
        data = [[Paragraph(str(h), cell) for h in head]]
        data += [[Paragraph(_escape(str(neutralise(v))), cell) for v in r] for r in rows]
        t = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE7F0")),
            ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return t

    when = f"报告日期：{on.isoformat()}" if locale == "zh" else f"Report date: {on.isoformat()}"
    story = [Paragraph(_escape(title), h1), Paragraph(when, body), Spacer(1, 4 * mm),
             table(HEAD[locale], _summary_rows(summary), [80, 30, 30, 30, 30, 40]),
             Spacer(1, 6 * mm),
             table(TASK_HEAD[locale], _task_rows(items, locale),
                   [22, 90, 38, 24, 18, 24, 22, 30])]
    doc.build(story)
    return buf.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def indicators_xlsx(d: Dashboard, table_rows: list[list[Any]], header: list[str],
                    locale: str = "zh") -> bytes:
    cards = [[c.name, c.unit, c.value, c.previous,
              None if c.yoy_change is None else round(100 * c.yoy_change, 2), c.target,
              None if c.progress is None else round(100 * c.progress, 1)] for c in d.cards]
    head = (["指标", "单位", f"{d.year} 年", f"{d.year - 1} 年", "同比（%）", "目标", "完成（%）"]
            if locale == "zh" else ["Indicator", "Unit", str(d.year), str(d.year - 1),
                                    "YoY (%)", "Target", "Progress (%)"])
    return write_xlsx([(d.region_name, head, cards),
                       ("各镇街园区" if locale == "zh" else "Towns and parks", header,
                        table_rows)])
