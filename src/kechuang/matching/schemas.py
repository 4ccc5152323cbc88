"""Input shapes of the matching registries and their field rules, with Chinese messages.

One set of rules serves the web forms, the JSON API and the CSV/XLSX imports: a rule raises
:class:`FieldError` naming the field and the reason; forms turn it into an ``InvalidInput``,
imports into a problem with file, sheet, row and column. Money is ``Decimal`` in 万元.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from kechuang.ingest.parsing import CellError, is_blank, parse_date, parse_number
from kechuang.kit.errors import InvalidInput

VISIBILITIES = {"public": "公开", "bureau_only": "仅科技局可见"}
DEMAND_STATUSES = {"open": "征集中", "matched": "已匹配", "in_cooperation": "合作中",
                   "solved": "已解决", "closed": "已关闭"}
#: the demand workflow: status → statuses reachable from it
DEMAND_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("matched", "closed"),
    "matched": ("open", "in_cooperation", "closed"),
    "in_cooperation": ("solved", "closed"),
    "solved": (),
    "closed": (),
}
MATURITIES = ("实验室", "中试", "产业化")
TRANSFER_MODES = ("转让", "许可", "作价入股", "合作开发")
DEGREES = ("不限", "大专", "本科", "硕士", "博士")
MARK_STATUSES = {"contacted": "已联系", "declined": "已谢绝", "agreed": "已达成合作"}
DECLINE_REASONS = {"too_early": "成果成熟度不足", "benefit_unclear": "效益不明确",
                   "price": "价格不合适", "ip": "知识产权问题", "other": "其他"}
SUPPLY_KINDS = {"achievement": "科技成果", "expert": "专家", "institute": "高校院所"}
NEXT_STEPS = {"none": "暂无", "tech_contract": "技术合同", "pre_research": "预研资金申请",
              "challenge": "揭榜挂帅"}
REQUEST_STATUSES = {"open": "待派遣", "assigned": "已派遣", "in_service": "服务中",
                    "closed": "已结束"}
MAX_TEXT = 20_000
MAX_MONEY = Decimal("10000000")  # 万元: one trillion yuan, a typo guard


class FieldError(ValueError):
    """A value that breaks a field rule: ``label`` is the Chinese field name."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(f"{label}：{reason}")
        self.label = label
        self.reason = reason


def text(raw: Any, label: str, *, max_len: int, required: bool = False) -> str:
    value = "" if is_blank(raw) else unicodedata.normalize("NFC", str(raw)).strip()
    if "\x00" in value:
        raise FieldError(label, "含有不可见的控制字符")
    if required and not value:
        raise FieldError(label, "不能为空")
    if len(value) > max_len:
        raise FieldError(label, f"过长：{len(value):,} 个字符，上限 {max_len:,}")
    return value


def money(raw: Any, label: str) -> Decimal | None:
    if is_blank(raw):
        return None
    try:
        value = parse_number(raw)
    except CellError as exc:
        raise FieldError(label, str(exc)) from exc
    if value < 0:
        raise FieldError(label, "不能为负数")
    if value > MAX_MONEY:
        raise FieldError(label, f"超过上限 {MAX_MONEY:,} 万元，请检查单位（万元）")
    if value.as_tuple().exponent < -6:  # type: ignore[operator]
        raise FieldError(label, "最多保留 6 位小数")
    return value


def money_range(lo: Decimal | None, hi: Decimal | None, label: str) -> None:
    if lo is not None and hi is not None and lo > hi:
        raise FieldError(label, f"下限 {lo} 大于上限 {hi}")


def day(raw: Any, label: str) -> date | None:
    if is_blank(raw):
        return None
    try:
        return parse_date(raw)
    except CellError as exc:
        raise FieldError(label, str(exc)) from exc


def choice(raw: Any, label: str, options: dict[str, str] | tuple[str, ...],
           default: str | None = None) -> str:
    value = "" if is_blank(raw) else unicodedata.normalize("NFKC", str(raw)).strip()
    if not value and default is not None:
        return default
    if isinstance(options, dict):
        if value in options:
            return value
        by_label = {v: k for k, v in options.items()}
        if value in by_label:
            return by_label[value]
        shown = "、".join(f"{k}（{v}）" for k, v in options.items())
    else:
        if value in options:
            return value
        shown = "、".join(options)
    raise FieldError(label, f"“{value}”不是可选值，可选：{shown}")


_SPLIT = re.compile(r"[;,；，、/\s]+")


def listing(raw: Any, label: str, allowed: tuple[str, ...] | None = None,
            max_items: int = 50) -> list[str]:
    if is_blank(raw):
        return []
    items = raw if isinstance(raw, list) else _SPLIT.split(
        unicodedata.normalize("NFKC", str(raw)))
    out = list(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))
    if len(out) > max_items:
        raise FieldError(label, f"最多 {max_items} 项")
    if allowed is not None:
        bad = [i for i in out if i not in allowed]
        if bad:
            raise FieldError(label, f"“{'、'.join(bad)}”不是可选值，可选：{'、'.join(allowed)}")
    return out


def count(raw: Any, label: str, lo: int = 0, hi: int = 10_000, default: int = 1) -> int:
    if is_blank(raw):
        return default
    try:
        value = parse_number(raw)
    except CellError as exc:
        raise FieldError(label, str(exc)) from exc
    if value != value.to_integral_value() or not lo <= value <= hi:
        raise FieldError(label, f"应为 {lo} 到 {hi} 之间的整数")
    return int(value)


def trl(raw: Any, label: str) -> int | None:
    if is_blank(raw):
        return None
    return count(raw, label, 1, 9)


def industry_code(raw: Any, label: str) -> str | None:
    value = text(raw, label, max_len=5)
    if value and not re.fullmatch(r"[A-T]|\d{2,4}", value):
        raise FieldError(label, f"“{value}”不是国民经济行业分类代码（如 3130）")
    return value or None


def as_invalid(exc: FieldError) -> InvalidInput:
    return InvalidInput(f"{exc.label}：{exc.reason}", f"{exc.label}: {exc.reason}",
                        field=exc.label)


@dataclass
class DemandIn:
    title: str
    description: str = ""
    targets: str = ""
    industry_code: str | None = None
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None
    deadline: date | None = None
    visibility: str = "public"

    @classmethod
    def parse(cls, data: dict[str, Any]) -> DemandIn:
        lo = money(data.get("budget_min"), "预算下限（万元）")
        hi = money(data.get("budget_max"), "预算上限（万元）")
        money_range(lo, hi, "预算范围")
        return cls(
            title=text(data.get("title"), "需求名称", max_len=200, required=True),
            description=text(data.get("description"), "问题描述", max_len=MAX_TEXT),
            targets=text(data.get("targets"), "目标指标", max_len=MAX_TEXT),
            industry_code=industry_code(data.get("industry_code"), "行业代码"),
            budget_min=lo, budget_max=hi,
            deadline=day(data.get("deadline"), "截止日期"),
            visibility=choice(data.get("visibility"), "公开范围", VISIBILITIES, "public"))


@dataclass
class AchievementIn:
    title: str
    abstract: str = ""
    keywords: str = ""
    discipline: str = ""
    maturity: str = "实验室"
    trl: int | None = None
    patent_numbers: list[str] = field(default_factory=list)
    transfer_modes: list[str] = field(default_factory=list)
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    visibility: str = "public"
    code: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> AchievementIn:
        lo = money(data.get("price_min"), "价格下限（万元）")
        hi = money(data.get("price_max"), "价格上限（万元）")
        money_range(lo, hi, "价格范围")
        code = text(data.get("code"), "成果编号", max_len=64)
        if code and not re.fullmatch(r"[0-9A-Za-z._\-]+", code):
            raise FieldError("成果编号", "只能含字母、数字和 . _ -")
        return cls(
            title=text(data.get("title"), "成果名称", max_len=300, required=True),
            abstract=text(data.get("abstract"), "摘要", max_len=MAX_TEXT),
            keywords=text(data.get("keywords"), "关键词", max_len=2000),
            discipline=text(data.get("discipline"), "学科/领域", max_len=60),
            maturity=choice(data.get("maturity"), "成熟度", MATURITIES, "实验室"),
            trl=trl(data.get("trl"), "技术就绪度 TRL"),
            patent_numbers=listing(data.get("patent_numbers"), "专利号"),
            transfer_modes=listing(data.get("transfer_modes"), "转化方式", TRANSFER_MODES),
            price_min=lo, price_max=hi,
            visibility=choice(data.get("visibility"), "公开范围", VISIBILITIES, "public"),
            code=code)


@dataclass
class PositionIn:
    title: str
    field: str
    degree: str
    count: int
    industry_chain: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> PositionIn:
        return cls(title=text(data.get("title"), "岗位名称", max_len=120, required=True),
                   field=text(data.get("field"), "专业领域", max_len=60, required=True),
                   degree=choice(data.get("degree"), "学历要求", DEGREES, "不限"),
                   count=count(data.get("count"), "需求人数", 1, 1000),
                   industry_chain=text(data.get("industry_chain"), "产业链", max_len=60))


@dataclass
class TalentEntryIn:
    name: str
    field: str
    degree: str
    contact: str

    @classmethod
    def parse(cls, data: dict[str, Any]) -> TalentEntryIn:
        return cls(name=text(data.get("name"), "姓名", max_len=60, required=True),
                   field=text(data.get("field"), "专业领域", max_len=60, required=True),
                   degree=choice(data.get("degree"), "学历", DEGREES, "不限"),
                   contact=text(data.get("contact"), "联系方式", max_len=120, required=True))


@dataclass
class CommissionerIn:
    name: str
    expertise: str
    affiliation: str
    capacity: int

    @classmethod
    def parse(cls, data: dict[str, Any]) -> CommissionerIn:
        return cls(name=text(data.get("name"), "姓名", max_len=60, required=True),
                   expertise=text(data.get("expertise"), "专长", max_len=MAX_TEXT),
                   affiliation=text(data.get("affiliation"), "工作单位", max_len=200),
                   capacity=count(data.get("capacity"), "服务容量", 0, 100, 3))


@dataclass
class ServiceRequestIn:
    title: str
    description: str
    team_size: int

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ServiceRequestIn:
        return cls(title=text(data.get("title"), "服务需求", max_len=200, required=True),
                   description=text(data.get("description"), "需求说明", max_len=MAX_TEXT),
                   team_size=count(data.get("team_size"), "团队人数", 1, 10))


@dataclass
class ServiceLogIn:
    commissioner_id: int
    enterprise_uscc: str
    visited_on: date
    problem: str
    result: str

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ServiceLogIn:
        visited = day(data.get("visited_on"), "走访日期")
        if visited is None:
            raise FieldError("走访日期", "不能为空")
        return cls(commissioner_id=count(data.get("commissioner_id"), "特派员", 1, 2**31 - 1),
                   enterprise_uscc=text(data.get("enterprise_uscc"), "企业信用代码",
                                        max_len=18, required=True).upper(),
                   visited_on=visited,
                   problem=text(data.get("problem"), "发现的问题", max_len=MAX_TEXT),
                   result=text(data.get("result"), "服务结果", max_len=MAX_TEXT))
