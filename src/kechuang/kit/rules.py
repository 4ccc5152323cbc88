"""The one loader of rule files: every rule, workflow, rubric and money parameter that ships
as YAML (indicator systems, policies, list cut-offs, payment schemes, tier and push rules,
program types, review rubrics, finance tables, carbon bands…) is read here.

What every caller gets, whatever its schema:

- duplicate keys are refused (PyYAML would silently keep the last one);
- every problem names the file, the line and the dotted key, in Chinese, e.g.
  ``voucher.yaml 第12行，键“parameters.cover_share.0.value”：应为数字，实为 “三成”``;
- impossible dates stay text, so validation reports them with their line;
- validation is a Pydantic model of the caller's, so the core receives typed, trusted data.

Dated files follow one shape (:class:`RuleHeader`): ``id``, ``title``, ``valid_from`` and a
``source`` citing the document and article the numbers come from. A dated parameter is a list
of ``{from: date, value: …, source: …}`` entries (:class:`DatedValue`); :func:`value_at`
picks the one in force on a date.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kechuang.kit.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


class RuleFileError(InvalidInput):
    """A rule file that does not load; ``errors`` lists (line, dotted key, message)."""

    def __init__(self, filename: str, errors: list[tuple[int, str, str]]) -> None:
        self.filename = filename
        self.errors = errors
        lines = [format_problem(filename, *e) for e in errors[:20]]
        if len(errors) > 20:
            lines.append(f"……另有 {len(errors) - 20} 处错误")
        english = [f"{filename} line {line}, key '{key}': {msg}" for line, key, msg in errors[:20]]
        super().__init__("\n".join(lines), "\n".join(english), errors=errors)


def format_problem(filename: str, line: int, key: str, msg: str) -> str:
    where = f"{filename} 第{line}行"
    return f"{where}，键“{key}”：{msg}" if key else f"{where}：{msg}"


# --------------------------------------------------------------------------- YAML with lines
class LineDict(dict[Any, Any]):
    """A mapping that remembers the line (1-based) of itself and of each of its keys."""

    line: int = 1
    key_lines: dict[Any, int]


class _DuplicateKey(Exception):
    def __init__(self, line: int, key: str) -> None:
        self.line, self.key = line, key


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader (libyaml's C parser when PyYAML has it) with line-aware mappings."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    explicit = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)  # ``<<: *anchor`` pairs first, then the explicit ones
    merged = len(node.value) - explicit
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    seen: set[Any] = set()
    for i, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        if i >= merged:  # an explicit key may override a merged one, never repeat itself
            if key in seen:
                raise _DuplicateKey(key_node.start_mark.line + 1, str(key))
            seen.add(key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    # an impossible date (2020-13-01) stays text so validation reports it with its line
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, filename: str) -> Any:
    """YAML text → plain data whose mappings are :class:`LineDict` (duplicate keys refused)."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as dup:
        raise RuleFileError(filename, [(dup.line, dup.key, "键重复")]) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise RuleFileError(filename, [(line, "", f"YAML 语法错误：{exc.problem}")]) from None


def read_text(path: str | Path) -> tuple[str, str]:
    """(text, file name) of a UTF-8 rule file, with the loader's errors."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), p.name
    except FileNotFoundError:
        raise InvalidInput(f"找不到规则文件 {p}", f"rule file {p} not found") from None
    except UnicodeDecodeError:
        raise RuleFileError(p.name, [(1, "", "文件不是 UTF-8 编码")]) from None


def locate(data: Any, loc: Sequence[Any]) -> tuple[int, str]:
    """Line and dotted key of a validation-error location, skipping Pydantic's union tags."""
    line = data.line if isinstance(data, LineDict) else 1
    current = data
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            if isinstance(current, LineDict):
                line = current.key_lines.get(part, line)
            parts.append(str(part))
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            parts.append(str(part))
            current = current[part]
            if isinstance(current, LineDict):
                line = current.line
        elif (
            i == len(loc) - 1 and isinstance(current, dict) and isinstance(part, str)
            and part and not part[0].isupper() and "[" not in part
            and part not in ("float", "int", "str", "bool", "decimal")
        ):
            parts.append(part)  # a missing key
        # anything else is a union/validator tag
    return line, ".".join(parts)


#: what a literal key is called in messages ("未知的方法 “minmx”"), by the last key
LITERAL_LABELS = {"method": "方法", "direction": "方向"}
#: what a pattern means, for "格式不符" messages
PATTERN_HINTS = {
    r"^[A-Za-z_][A-Za-z0-9_]*$": "只能用英文字母、数字和下划线，且不以数字开头",
    r"^[a-z][a-z0-9_.-]*$": "只能用小写英文字母、数字和 _ . -，且以字母开头",
    r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$": "英文字母开头，只含字母、数字、_ . -",
}


def message_of(err: Any, key: str) -> str:
    """A Pydantic error in the words a bureau clerk editing YAML understands."""
    kind = err["type"]
    value = err.get("input")
    last = key.rsplit(".", 1)[-1]
    if kind == "extra_forbidden":
        return "未知的键（请检查拼写）"
    if kind == "missing":
        return "缺少必填的键"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"未知的{LITERAL_LABELS.get(last, '取值')} “{value}”（可选：{expected}）"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float",
                "decimal_parsing", "decimal_type"):
        return f"应为数字，实为 “{value}”"
    if kind == "string_type":
        return f"应为文本，实为 “{value}”"
    if kind.startswith("date"):
        return f"应为日期（如 2020-01-01），实为 “{value}”"
    if kind in ("list_type", "tuple_type"):
        return "应为列表"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "应为映射（键: 值）"
    if kind == "too_short":
        return "不能为空或项数不足"
    if kind == "too_long":
        return "项数过多"
    if kind == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(str(err.get("ctx", {}).get("pattern", "")))
        return f"“{value}” 格式不符" + (f"（{hint}）" if hint else "")
    if kind in ("greater_than_equal", "greater_than"):
        return f"取值过小：{value}"
    if kind in ("less_than_equal", "less_than"):
        return f"取值过大：{value}"
    return str(err["msg"])


def validate(raw: Any, model: type[M], filename: str) -> M:
    """Validate parsed data against ``model``; every problem with its line and key."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors: list[tuple[int, str, str]] = []
        for e in exc.errors():
            line, key = locate(raw, tuple(e["loc"]))
            item = (line, key, message_of(e, key))
            if item not in errors:
                errors.append(item)
        raise RuleFileError(filename, errors) from None


def loads(text: str, model: type[M], filename: str = "<rules>") -> M:
    raw = parse_yaml(text, filename)
    if not isinstance(raw, dict):
        raise RuleFileError(filename, [(1, "", "文件应为一个映射（键: 值）")])
    return validate(raw, model, filename)


def load(path: str | Path, model: type[M]) -> M:
    """Read, parse and validate one rule file."""
    text, name = read_text(path)
    return loads(text, model, name)


# --------------------------------------------------------------------------- dated rules
class RuleHeader(BaseModel):
    """What every dated rule file starts with. ``source`` cites the document and article."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$")
    title: str
    title_en: str | None = None
    valid_from: date
    valid_to: date | None = None
    source: str = Field(min_length=4)


class DatedValue(BaseModel):
    """One value of a dated parameter: in force from ``from`` until the next entry."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    valid_from: date = Field(alias="from")
    value: Any
    source: str = Field(min_length=4)


def value_at(entries: Sequence[DatedValue], on: date) -> Any:
    """The value in force on ``on`` (the latest entry that has started); none before the
    first entry is an error, never a silent default."""
    started = [e for e in entries if e.valid_from <= on]
    if not started:
        first = min(e.valid_from for e in entries) if entries else None
        raise InvalidInput(f"{on} 早于该参数的生效日期 {first}",
                           f"{on} is before the parameter's first date {first}")
    return max(started, key=lambda e: e.valid_from).value


# --------------------------------------------------------------------------- YAML cases
@dataclass
class CaseResult:
    """One YAML case run: its file, its name and what did not match (empty: passed)."""

    file: str
    name: str
    problems: list[str] = dc_field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def mismatch(label: str, want: Any, got: Any, tolerance: float = 1e-6) -> str | None:
    """``None`` when ``got`` is ``want`` (numbers within ``tolerance``, lists item by item;
    ``None`` only equals missing), else the line a case report prints."""
    if isinstance(want, list) and isinstance(got, list | tuple) and len(want) == len(got):
        bad = [mismatch(label, w, g, tolerance) for w, g in zip(want, got, strict=True)]
        return None if not any(bad) else f"{label}: 期望 expected {want!r}，实为 got {list(got)!r}"
    missing = got is None or (isinstance(got, float) and math.isnan(got))
    if want is None:
        same = missing
    elif missing:
        same = False
    elif isinstance(want, bool) or isinstance(got, bool):
        same = bool(want) == bool(got)
    elif isinstance(want, int | float) and isinstance(got, int | float):
        same = abs(float(want) - float(got)) <= tolerance * max(1.0, abs(float(want)))
    else:
        same = str(want) == str(got)
    return None if same else f"{label}: 期望 expected {want!r}，实为 got {got!r}"


def case_report(results: Sequence[CaseResult]) -> tuple[list[str], int]:
    """The lines a ``kechuang … test`` command prints and the number of failed cases."""
    lines: list[str] = []
    failed = 0
    for r in results:
        lines.append(f"{'通过 ok  ' if r.ok else '失败 FAIL'} {r.file} · {r.name}")
        lines.extend(f"    {p}" for p in r.problems)
        failed += not r.ok
    lines.append(f"{len(results)} 个用例，{len(results) - failed} 个通过，{failed} 个失败 "
                 f"({len(results) - failed}/{len(results)} passed)")
    return lines, failed
