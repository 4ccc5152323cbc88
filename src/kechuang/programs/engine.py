"""Pure logic of the program engine: state machines, guards, forms, attachments, deadlines,
tranches and the pre-research fund's amounts. No database, no web, no I/O — the service
feeds facts in and writes what comes out."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from kechuang.kit.errors import Conflict, Forbidden, InvalidInput
from kechuang.kit.rules import value_at
from kechuang.programs.schemas import (
    AttachmentSpec,
    Form,
    PreResearchParams,
    Transition,
    Workflow,
)

CENT = Decimal("0.01")

#: what a failed guard means, in both languages
GUARD_MESSAGES: dict[str, tuple[str, str]] = {
    "before_deadline": ("截止时间已过", "the deadline has passed"),
    "deadline_passed": ("尚未到截止时间", "the deadline has not passed yet"),
    "budget_left": ("预算余额不足", "not enough budget left"),
    "has_applications": ("尚无申报", "there are no applications yet"),
    "gates_left": ("没有剩余关口", "no stage gate is left"),
    "no_gates_left": ("尚有关口未评审", "stage gates remain"),
}

ROLE_LABELS = {"bureau_admin": "科技局管理员", "bureau_staff": "科技局工作人员",
               "enterprise": "企业", "institute": "高校院所", "system": "系统（评审结果）"}


# --------------------------------------------------------------------------- state machines
def allowed(wf: Workflow, state: str, role: str | None = None) -> list[tuple[str, Transition]]:
    """The transitions leaving ``state`` (for ``role`` if given), in file order."""
    return [(name, t) for name, t in wf.transitions.items()
            if state in t.from_ and (role is None or role in t.roles)]


def _state_label(wf: Workflow, state: str) -> tuple[str, str]:
    label = wf.states.get(state)
    return (label.zh, label.en) if label else (state, state)


def _allowed_text(wf: Workflow, state: str) -> tuple[str, str]:
    moves = allowed(wf, state)
    if not moves:
        return "无（终态）", "none (final state)"
    zh = "、".join(f"{t.zh}（{'/'.join(ROLE_LABELS.get(r, r) for r in t.roles)}）"
                  for _, t in moves)
    en = ", ".join(f"{t.en} ({'/'.join(t.roles)})" for _, t in moves)
    return zh, en


def check_transition(wf: Workflow, state: str, action: str, role: str,
                     guards: Mapping[str, bool], *, what: str = "申报",
                     what_en: str = "application") -> str:
    """The state after ``action``, or a refusal that names the current state and what is
    allowed from it. ``guards`` maps guard names to whether they hold now; a guard the
    caller did not evaluate counts as failed (never silently passed)."""
    zh_state, en_state = _state_label(wf, state)
    zh_ok, en_ok = _allowed_text(wf, state)
    t = wf.transitions.get(action)
    if t is None:
        raise InvalidInput(
            f"未知的操作 “{action}”。{what}当前状态为“{zh_state}”，可进行的操作：{zh_ok}",
            f"Unknown action {action!r}. The {what_en} is {en_state}; allowed: {en_ok}",
            field="action")
    if state not in t.from_:
        raise Conflict(
            f"{what}当前状态为“{zh_state}”，不能“{t.zh}”。可进行的操作：{zh_ok}",
            f"The {what_en} is {en_state}: cannot {t.en.lower()}. Allowed: {en_ok}",
            state=state, action=action)
    if role not in t.roles:
        who = "/".join(ROLE_LABELS.get(r, r) for r in t.roles)
        raise Forbidden(
            f"无权“{t.zh}”：此操作只能由{who}进行（{what}当前状态为“{zh_state}”）",
            f"You may not {t.en.lower()}: only {', '.join(t.roles)} may "
            f"(the {what_en} is {en_state})", state=state, action=action)
    for g in t.guards:
        if not guards.get(g, False):
            zh, en = GUARD_MESSAGES[g]
            raise Conflict(
                f"不能“{t.zh}”：{zh}（{what}当前状态为“{zh_state}”）",
                f"Cannot {t.en.lower()}: {en} (the {what_en} is {en_state})",
                state=state, action=action, guard=g)
    return t.to


# --------------------------------------------------------------------------- deadlines
def deadline_utc(closes_on: date, tz: str = "Asia/Shanghai") -> datetime:
    """A call closing "on" a date closes at the end of that day in the bureau's zone."""
    local = datetime.combine(closes_on, time(23, 59, 59), tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC)


def before_deadline(closes_at: datetime | None, now: datetime) -> bool:
    return closes_at is None or now <= closes_at


# --------------------------------------------------------------------------- amounts
def parse_money(text: object, field: str, *, allow_zero: bool = True,
                key: str | None = None) -> Decimal:
    """A money amount typed by a person: a plain decimal with at most two places, not
    negative. ``field`` is the Chinese field label the error names (``key`` the form key
    reported in ``details["field"]``, by default the label)."""
    try:
        return _parse_money(text, field, allow_zero)
    except InvalidInput as exc:
        if key is not None:
            exc.details["field"] = key
        raise


def _parse_money(text: object, field: str, allow_zero: bool) -> Decimal:
    raw = "" if text is None else str(text).strip().replace(",", "").replace("，", "")
    if not raw:
        raise InvalidInput(f"{field}：不能为空", f"{field}: required", field=field)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput(f"{field}：应为数字金额（如 120000 或 120000.50），实为 “{raw}”",
                           f"{field}: not a decimal amount: {raw!r}", field=field) from None
    if not value.is_finite():
        raise InvalidInput(f"{field}：应为数字金额，实为 “{raw}”",
                           f"{field}: not a finite amount: {raw!r}", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(f"{field}：金额不能为负数或零，实为 {raw}" if not allow_zero
                           else f"{field}：金额不能为负数，实为 {raw}",
                           f"{field}: must be positive: {raw}", field=field)
    if value != value.quantize(CENT):
        raise InvalidInput(f"{field}：金额最多两位小数（到分），实为 {raw}",
                           f"{field}: at most two decimal places: {raw}", field=field)
    if value >= Decimal("1e12"):
        raise InvalidInput(f"{field}：金额过大：{raw}", f"{field}: too large: {raw}",
                           field=field)
    return value.quantize(CENT)


def tranche_amounts(award: Decimal, shares: list[Decimal]) -> list[Decimal]:
    """The award split by ``shares`` to the cent; the last tranche takes the rounding, so
    the tranches always add up to the award exactly."""
    out = [(award * s).quantize(CENT, ROUND_HALF_UP) for s in shares[:-1]]
    out.append(award - sum(out, Decimal(0)))
    return out


def front_amount(params: PreResearchParams, on: date, contract: Decimal) -> Decimal:
    """Front-phase pre-payment to the institute: rate × contract, at most the cap."""
    rate = Decimal(str(value_at(params.front_rate, on)))
    cap = Decimal(str(value_at(params.front_cap, on)))
    return min((contract * rate).quantize(CENT, ROUND_HALF_UP), cap)


def back_amount(params: PreResearchParams, on: date, followup_rd: Decimal) -> Decimal:
    """Back-phase post-subsidy to the enterprise: rate × follow-up R&D, at most the cap."""
    rate = Decimal(str(value_at(params.back_rate, on)))
    cap = Decimal(str(value_at(params.back_cap, on)))
    return min((followup_rd * rate).quantize(CENT, ROUND_HALF_UP), cap)


def survivors(scores: Mapping[int, Decimal | None], keep: int) -> list[int]:
    """At a 赛马 gate only the best ``keep`` continue: highest score first, ties by the lower
    id (the earlier bid); a report without a score never continues."""
    scored = [(s, i) for i, s in scores.items() if s is not None]
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [i for _, i in scored[:keep]]


# --------------------------------------------------------------------------- forms
@dataclass(frozen=True)
class FormResult:
    values: dict[str, str]  # normalised values, JSON-ready
    title: str
    amount: Decimal | None  # requested_amount or contract_amount when the form has one


def validate_form(form: Form, raw: Mapping[str, object]) -> FormResult:
    """Check every field of ``form`` against ``raw``; the first problem is an error naming
    the field (Chinese label and key)."""
    values: dict[str, str] = {}
    for f in form.fields:
        label = f"{f.zh}（{f.key}）"
        v = raw.get(f.key)
        text = "" if v is None else str(v).strip()
        if not text:
            if f.required:
                raise InvalidInput(f"{label}：必填", f"{f.en} ({f.key}): required",
                                   field=f.key)
            continue
        if "\x00" in text:
            raise InvalidInput(f"{label}：含有非法字符", f"{f.en}: invalid character",
                               field=f.key)
        if f.type in ("text", "textarea"):
            limit = f.max_length or (200 if f.type == "text" else 5000)
            if len(text) > limit:
                raise InvalidInput(f"{label}：不能超过 {limit} 个字符（现有 {len(text)} 个）",
                                   f"{f.en}: at most {limit} characters", field=f.key)
            values[f.key] = text
        elif f.type == "money":
            amount = parse_money(text, label, key=f.key)
            _bounds(f.min, f.max, amount, label, f.en, f.key)
            values[f.key] = str(amount)
        elif f.type == "integer":
            try:
                n = int(text)
            except ValueError:
                raise InvalidInput(f"{label}：应为整数，实为 “{text}”",
                                   f"{f.en}: not an integer: {text!r}", field=f.key) from None
            _bounds(f.min, f.max, Decimal(n), label, f.en, f.key)
            values[f.key] = str(n)
        elif f.type == "date":
            try:
                values[f.key] = date.fromisoformat(text).isoformat()
            except ValueError:
                raise InvalidInput(f"{label}：应为日期（如 2025-06-30），实为 “{text}”",
                                   f"{f.en}: not a date: {text!r}", field=f.key) from None
        elif f.type == "choice":
            if text not in f.choices:
                raise InvalidInput(f"{label}：应为 {'、'.join(f.choices)} 之一，实为 “{text}”",
                                   f"{f.en}: not one of the choices: {text!r}", field=f.key)
            values[f.key] = text
    amount_text = values.get("requested_amount") or values.get("contract_amount")
    return FormResult(values=values, title=values.get("title", ""),
                      amount=Decimal(amount_text) if amount_text else None)


def _bounds(lo: Decimal | None, hi: Decimal | None, v: Decimal, label: str, en: str,
            key: str) -> None:
    if lo is not None and v < lo:
        raise InvalidInput(f"{label}：不能小于 {lo}，实为 {v}", f"{en}: below {lo}", field=key)
    if hi is not None and v > hi:
        raise InvalidInput(f"{label}：不能大于 {hi}，实为 {v}", f"{en}: above {hi}", field=key)


# --------------------------------------------------------------------------- attachments
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def sniff(data: bytes) -> str | None:
    """The file's type from its bytes (magic numbers, and the parts inside an OOXML zip),
    never from its name."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        if "[Content_Types].xml" in names:
            if any(n.startswith("word/") for n in names):
                return "docx"
            if any(n.startswith("xl/") for n in names):
                return "xlsx"
    return None


def human_size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


@dataclass(frozen=True)
class CheckedFile:
    kind: str
    content_type: str
    size: int
    sha256: str


def check_attachment(spec: AttachmentSpec, filename: str, data: bytes) -> CheckedFile:
    """Size limit, sniffed type among the accepted ones, and the content hash."""
    label = f"附件“{spec.zh}”（{spec.key}）"
    if not data:
        raise InvalidInput(f"{label}：文件为空（{filename}）", f"{spec.en}: empty file",
                           field=spec.key)
    if len(data) > spec.max_bytes:
        raise InvalidInput(
            f"{label}：文件 {filename} 大小 {human_size(len(data))}，超过上限 "
            f"{human_size(spec.max_bytes)}", f"{spec.en}: {filename} is larger than "
            f"{human_size(spec.max_bytes)}", field=spec.key)
    kind = sniff(data)
    accepted = "、".join(t.upper() for t in spec.types)
    if kind is None or kind not in spec.types:
        found = kind.upper() if kind else "无法识别的格式"
        raise InvalidInput(
            f"{label}：文件 {filename} 的实际内容为 {found}，只接受 {accepted}"
            "（按文件内容判断，不看扩展名）",
            f"{spec.en}: {filename} is really {kind or 'an unknown format'}; "
            f"accepted: {', '.join(spec.types)} (judged by content, not by name)",
            field=spec.key)
    return CheckedFile(kind=kind, content_type=CONTENT_TYPES[kind], size=len(data),
                       sha256=hashlib.sha256(data).hexdigest())
