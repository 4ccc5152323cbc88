"""Pure computation of the ledger: amounts from text, the effect of an entry on what is left,
reconciliation arithmetic and the year's bounds. No database, no web, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from kechuang.kit.errors import Conflict, InvalidInput
from kechuang.ledger.schemas import LedgerRules

ZONE = ZoneInfo("Asia/Shanghai")
_KEY = re.compile(r"^[a-z][a-z0-9_]*(:[A-Za-z0-9_.\-]+)+$")
_ZERO = Decimal(0)


def parse_amount(value: Any, field: str, rules: LedgerRules, *, allow_zero: bool = False
                 ) -> Decimal:
    """An amount in yuan from text, an int or a Decimal — never a float (binary floats are not
    money). Refused, naming ``field``: not a number, not finite, zero or negative, more
    decimal places than whole 分, or absurdly large."""
    label = f"“{field}”"
    if isinstance(value, bool | float):
        raise InvalidInput(f"{label}必须以文本或整数给出精确金额，不能是浮点数",
                           f"'{field}' must be exact text or an integer, not a float",
                           field=field)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    else:
        text = str(value).strip().replace(",", "").replace("，", "")
        try:
            amount = Decimal(text)
        except (InvalidOperation, ValueError):
            raise InvalidInput(f"{label}不是有效的金额：“{value}”（应为如 1234.56 的数字，单位元）",
                               f"'{field}' is not a valid amount: '{value}'",
                               field=field) from None
    if not amount.is_finite():
        raise InvalidInput(f"{label}不是有效的金额：“{value}”", f"'{field}' is not finite",
                           field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput(f"{label}必须大于零，实为 {value}",
                           f"'{field}' must be greater than zero, got {value}", field=field)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > rules.decimal_places:
        raise InvalidInput(f"{label}只能精确到分（最多 {rules.decimal_places} 位小数），"
                           f"实为 {value}",
                           f"'{field}' has more than {rules.decimal_places} decimal places",
                           field=field)
    if amount > rules.max_amount:
        raise InvalidInput(f"{label}超过上限 {rules.max_amount} 元（请检查单位）",
                           f"'{field}' exceeds {rules.max_amount} yuan", field=field)
    return amount.quantize(Decimal(1).scaleb(-rules.decimal_places))


def check_key(key: str) -> str:
    """A budget key such as ``program:ZJG-YY-2024:2024`` or ``vouchers:320582:2024``."""
    if not _KEY.match(key or "") or len(key) > 120:
        raise InvalidInput(
            f"“预算编号”格式不符：“{key}”（应为 类别:编号:年度，如 vouchers:320582:2024）",
            f"'budget key' is malformed: '{key}' (e.g. vouchers:320582:2024)", field="key")
    return key


def check_kind(kind: str, entry: str, rules: LedgerRules) -> None:
    rule = rules.kinds.get(kind)
    if rule is None:
        known = "、".join(rules.kinds)
        raise InvalidInput(f"“款项类别”未知：“{kind}”（可选：{known}）",
                           f"unknown entry kind '{kind}'", field="kind")
    if rule.entry != entry:
        if entry == "receipt":
            raise InvalidInput(f"“款项类别”{kind} 不是收回类别，不能用于收款",
                               f"kind '{kind}' is not a receipt kind", field="kind")
        raise InvalidInput(f"“款项类别”{kind} 不是付款类别，不能用于付款",
                           f"kind '{kind}' is not a payment kind", field="kind")


def may_post(kind: str, role: str, rules: LedgerRules) -> bool:
    rule = rules.kinds.get(kind)
    return rule is not None and role in rule.roles


def kind_label(kind: str, rules: LedgerRules, locale: str = "zh") -> str:
    rule = rules.kinds.get(kind)
    if rule is None:
        return kind
    return rule.en if locale == "en" else rule.zh


@dataclass(frozen=True)
class Posting:
    delta: Decimal
    balance_after: Decimal


def post(remaining: Decimal, entry_type: str, amount: Decimal, *, budget_key: str,
         reversed_delta: Decimal | None = None) -> Posting:
    """The effect of one entry on what is left. A payment takes money out (refused when it
    is more than what is left); a receipt puts money back; a reversal undoes the entry it
    reverses (refused when undoing a receipt would leave the budget below zero)."""
    if entry_type == "payment":
        delta = -amount
    elif entry_type == "receipt":
        delta = amount
    else:
        if reversed_delta is None:
            raise ValueError("a reversal needs the delta of the entry it reverses")
        delta = -reversed_delta
    balance = remaining + delta
    if balance < _ZERO:
        raise Conflict(
            f"超出预算：预算“{budget_key}”剩余 {fmt(remaining)} 元，本笔 {fmt(amount)} 元，"
            f"超出 {fmt(-balance)} 元；未记账",
            f"Over budget: '{budget_key}' has {fmt(remaining)} left, this entry is "
            f"{fmt(amount)} ({fmt(-balance)} too much); nothing was posted",
            field="amount", remaining=str(remaining))
    return Posting(delta=delta, balance_after=balance)


def fmt(value: Decimal) -> str:
    """``1,234,567.50`` — two decimals, thousands separated."""
    return f"{value.quantize(Decimal('0.01')):,}"


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The UTC instants at which ``year`` starts and ends in Asia/Shanghai."""
    start = datetime(year, 1, 1, tzinfo=ZONE).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=ZONE).astimezone(UTC)
    return start, end


def closing(opening: Decimal, paid: Decimal, received: Decimal, reversed_payments: Decimal,
            reversed_receipts: Decimal) -> Decimal:
    return opening - paid + received + reversed_payments - reversed_receipts


def same_request(existing: dict[str, Any], wanted: dict[str, Any]) -> None:
    """A repeated idempotency key must describe the same request; otherwise it is refused
    (a key reused for a different payment is a caller's error, never a silent replay)."""
    diffs = [k for k, v in wanted.items() if existing.get(k) != v]
    if diffs:
        fields = "、".join(diffs)
        raise Conflict(f"“幂等键”已用于另一笔不同的款项（不同之处：{fields}），未记账",
                       f"'idempotency key' was used for a different entry ({', '.join(diffs)})",
                       field="idempotency_key")
