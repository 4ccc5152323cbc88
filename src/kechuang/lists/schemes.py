"""Reward schemes as data: YAML files a bureau analyst edits, validated with the file, line
and key of every mistake (the same discipline as policy and indicator-system files).

Two kinds (docs/lists.md describes the format with examples):

- ``tiers``: a fixed amount per list tier (领跑/竞跑/进取榜) or per range of places, first
  matching rule wins; an optional ``budget`` is either a hard limit (``over_budget:
  refuse``) or scales every amount down pro rata (``scale``);
- ``proportional``: a ``budget`` split in proportion to points above a ``threshold``
  (or to the points of those above it), with an optional per-enterprise ``cap`` whose
  freed money is re-distributed to the others (``redistribute: true``, the default).

Amounts are yuan as :class:`~decimal.Decimal` with at most two decimals (分): a scheme that
names a fraction of a 分 is refused rather than silently rounded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from kechuang.kit.errors import InvalidInput

SCHEMES_DIR = Path(__file__).with_name("schemes")
CENT = Decimal("0.01")


class SchemeFileError(InvalidInput):
    """A reward-scheme file that does not validate."""


def _money(value: Any) -> Any:
    """YAML numbers → exact Decimal (``0.1`` stays 0.1, not the float's binary expansion)."""
    if isinstance(value, bool):
        raise ValueError(f"应为金额（元），实为 “{value}”")
    if isinstance(value, int | float | str):
        try:
            amount = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation as exc:
            raise ValueError(f"应为金额（元），实为 “{value}”") from exc
        if not amount.is_finite():
            raise ValueError(f"应为有限金额，实为 “{value}”")
        if amount < 0:
            raise ValueError(f"金额不能为负：{value}")
        if amount != amount.quantize(CENT):
            raise ValueError(f"金额须精确到分（最多两位小数）：{value}")
        return amount
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierRule(_Strict):
    """One line of a tier scheme: who (a list tier, or a range of places) gets how much."""

    tier: str | None = None
    ranks: tuple[int, int] | None = None
    stage: str | None = None
    amount: Money
    label: str | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> TierRule:
        if (self.tier is None) == (self.ranks is None):
            raise ValueError("每条规则须且只须写 tier（榜单）或 ranks（名次范围）之一")
        if self.ranks is not None:
            lo, hi = self.ranks
            if lo < 1 or hi < lo:
                raise ValueError(f"名次范围 [{lo}, {hi}] 无效：应 1 ≤ 起始名次 ≤ 结束名次")
        return self


class Scheme(_Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
    name: str = Field(min_length=1)
    description: str | None = None
    kind: Literal["tiers", "proportional"]
    budget: Money | None = None
    #: only enterprises of these revenue stages are paid (default: every stage)
    stages: list[str] | None = None
    #: only enterprises that are on a published list (list_tier set) are paid
    listed_only: bool = False
    # --- tiers
    tiers: list[TierRule] | None = None
    rank_basis: Literal["list", "stage"] = "list"
    over_budget: Literal["refuse", "scale"] = "refuse"
    # --- proportional
    threshold: float | None = None
    basis: Literal["excess", "points"] = "excess"
    cap: Money | None = None
    redistribute: bool = True

    @model_validator(mode="after")
    def _kind_keys(self) -> Scheme:
        if self.kind == "tiers":
            if not self.tiers:
                raise ValueError("kind: tiers 的方案须有 tiers（奖励档次）列表")
            for key in ("threshold", "cap"):
                if getattr(self, key) is not None:
                    raise ValueError(f"kind: tiers 的方案不使用键 {key}")
        else:
            if self.budget is None or self.threshold is None:
                raise ValueError("kind: proportional 的方案须有 budget（预算）"
                                 "和 threshold（积分门槛）")
            if self.tiers is not None:
                raise ValueError("kind: proportional 的方案不使用键 tiers")
            if self.cap is not None and self.cap == 0:
                raise ValueError("cap（单家上限）须大于 0")
        return self


# --------------------------------------------------------------------------- YAML with lines
Loc = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader; duplicate keys are caught while mapping lines (PyYAML keeps the last)."""


def _map_lines(node: yaml.Node, loc: Loc, out: dict[Loc, int], file: str) -> None:
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            k = str(key.value)
            if k in seen:
                raise SchemeFileError(f"{file} 第{key.start_mark.line + 1}行，键“{k}”：重复出现",
                                      f"{file} line {key.start_mark.line + 1}: duplicate key {k}")
            seen.add(k)
            out[(*loc, k)] = key.start_mark.line + 1
            _map_lines(value, (*loc, k), out, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _map_lines(item, (*loc, i), out, file)


def _where(lines: dict[Loc, int], loc: tuple[Any, ...]) -> tuple[int, str]:
    best: Loc = ()
    parts: list[str] = []
    for part in loc:
        candidate = (*best, part)
        if candidate in lines:
            best = candidate
            parts.append(str(part))
        elif isinstance(part, str) and part and part[0].islower() and "[" not in part \
                and part not in ("function-after", "function-before"):
            parts.append(part)  # a missing key
    return lines.get(best, 1), ".".join(parts)


_KINDS = {
    "extra_forbidden": "未知的键（请检查拼写）",
    "missing": "缺少必填的键",
}


def _message(err: Any) -> str:
    kind = err["type"]
    if kind in _KINDS:
        return _KINDS[kind]
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"未知的取值 “{err.get('input')}”（可选：{expected}）"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        return f"应为数字，实为 “{err.get('input')}”"
    if kind == "string_pattern_mismatch":
        return f"“{err.get('input')}” 格式不符（英文字母开头，只含字母、数字、_ . -）"
    if kind in ("list_type", "tuple_type"):
        return "应为列表"
    if kind in ("model_type", "dict_type"):
        return "应为映射（键: 值）"
    if kind in ("too_short", "too_long"):
        return "项数不符" if kind == "too_long" or err.get("input") else "不能为空"
    return str(err["msg"]).removeprefix("Value error, ")


@dataclass(frozen=True)
class LoadedScheme:
    """A validated scheme with the file it came from and the sha256 of its text (a payment
    list is reproducible from an immutable run plus this hash)."""

    scheme: Scheme
    source: str
    sha256: str
    text: str = field(repr=False)

    @property
    def id(self) -> str:
        return self.scheme.id


def parse_scheme(text: str, file: str) -> LoadedScheme:
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemeFileError(f"{file} 第{line}行：YAML 格式错误（{problem}）",
                              f"{file} line {line}: malformed YAML ({problem})") from exc
    lines: dict[Loc, int] = {}
    if node is not None:
        _map_lines(node, (), lines, file)
    if not isinstance(data, dict):
        raise SchemeFileError(f"{file}：奖励方案文件应为一个映射（键: 值）",
                              f"{file}: a scheme file must be a mapping")
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        line, key = _where(lines, first["loc"])
        where = f"{file} 第{line}行" + (f"，键“{key}”" if key else "")
        raise SchemeFileError(f"{where}：{_message(first)}",
                              f"{file} line {line}, key {key or '(root)'}: {first['msg']}"
                              ) from exc
    _cross_checks(scheme, lines, file)
    return LoadedScheme(scheme, file, hashlib.sha256(text.encode("utf-8")).hexdigest(), text)


def _cross_checks(scheme: Scheme, lines: dict[Loc, int], file: str) -> None:
    """Overlapping place ranges for the same stage are a mistake (first match would hide it)."""
    seen: list[tuple[int, int, str | None, int]] = []
    for i, rule in enumerate(scheme.tiers or []):
        if rule.ranks is None:
            continue
        lo, hi = rule.ranks
        for plo, phi, pstage, j in seen:
            if pstage == rule.stage and lo <= phi and plo <= hi:
                line = lines.get(("tiers", i, "ranks"), 1)
                raise SchemeFileError(
                    f"{file} 第{line}行，键“tiers.{i}.ranks”：名次范围 [{lo}, {hi}] 与第 {j + 1} "
                    f"条规则的 [{plo}, {phi}] 重叠",
                    f"{file} line {line}: rank range overlaps rule {j + 1}")
        seen.append((lo, hi, rule.stage, i))


def load_scheme_file(path: Path) -> LoadedScheme:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemeFileError(f"无法读取奖励方案文件 {path}：{exc}",
                              f"Cannot read scheme file {path}: {exc}") from exc
    return parse_scheme(text, path.name)


def shipped_schemes() -> dict[str, LoadedScheme]:
    """The schemes shipped with the platform (``lists/schemes/*.yaml``), by id."""
    out: dict[str, LoadedScheme] = {}
    for path in sorted(SCHEMES_DIR.glob("*.yaml")):
        loaded = load_scheme_file(path)
        out[loaded.id] = loaded
    return out


def shipped_scheme(scheme_id: str) -> LoadedScheme:
    from kechuang.kit.errors import NotFound

    schemes = shipped_schemes()
    if scheme_id not in schemes:
        raise NotFound(f"没有 id 为 {scheme_id} 的奖励方案（可选：{'、'.join(schemes)}）",
                       f"No reward scheme {scheme_id}")
    return schemes[scheme_id]
