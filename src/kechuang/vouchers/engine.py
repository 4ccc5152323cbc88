"""Pure computation of vouchers: the parameters in force, the redeemed amount, voucher codes
and statuses. No database, no web, no I/O."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from kechuang.kit.errors import InvalidInput
from kechuang.kit.rules import value_at
from kechuang.vouchers.schemas import Parameters, VoucherRules

CENT = Decimal("0.01")
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed by hand


def today_local(now: datetime | None = None) -> date:
    """Today in Asia/Shanghai (expiry is a local calendar day)."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo("Asia/Shanghai")).date()


def parameters(rules: VoucherRules, on: date) -> Parameters:
    share = Decimal(str(value_at(rules.cover_share, on)))
    if not Decimal(0) < share <= Decimal(1):
        raise InvalidInput(f"抵扣比例应在 0 到 1 之间，实为 {share}", "cover share outside (0, 1]")
    return Parameters(on=on, validity_days=int(value_at(rules.validity_days, on)),
                      cover_share=share,
                      annual_budget=Decimal(str(value_at(rules.annual_budget, on))))


def face_value(policy_parameters: dict[str, dict[str, object]], rules: VoucherRules
               ) -> Decimal:
    """The voucher's face value in yuan from the policy run's applied parameters."""
    param = policy_parameters.get(rules.amount_parameter)
    if not param or param.get("value") is None:
        raise InvalidInput(f"资格测算批次没有记录参数“{rules.amount_parameter}”（创新券额度）",
                           f"the policy run has no '{rules.amount_parameter}' parameter")
    try:
        value = Decimal(str(param["value"])) * rules.amount_unit_yuan
    except InvalidOperation:
        raise InvalidInput("创新券额度不是数字", "voucher amount is not a number") from None
    return value.quantize(CENT)


def valid_until(issued_on: date, validity_days: int) -> date:
    return issued_on + timedelta(days=validity_days - 1)


def redeem_amount(invoice_amount: Decimal, cover_share: Decimal, face: Decimal) -> Decimal:
    """Invoice × covered share, floored to 分, capped at the voucher's face value."""
    covered = (invoice_amount * cover_share).quantize(CENT, rounding=ROUND_FLOOR)
    return min(covered, face)


def status(redeemed: bool, valid_until_day: date, today: date) -> str:
    if redeemed:
        return "redeemed"
    return "expired" if today > valid_until_day else "issued"


def voucher_code(secret: str, year: int, enterprise_id: int) -> str:
    """``CX2024-7KQ3-M9PD``: year plus eight characters keyed by the installation's secret,
    so codes cannot be guessed from an enterprise id (a provider also needs the holder's
    credit code to redeem)."""
    digest = hmac.new(secret.encode(), f"{year}:{enterprise_id}".encode(),
                      hashlib.sha256).digest()
    chars = "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:8])
    return f"CX{year}-{chars[:4]}-{chars[4:]}"


def normalise_code(code: str) -> str:
    return (code or "").strip().upper().replace(" ", "")
