"""Loading indicator systems: YAML with line numbers → Pydantic validation → cross-checks →
a resolved :class:`System` the engine runs. Every error names the file, the line and the
dotted key, in Chinese, e.g. ``zjg-2.0.yaml 第23行，键“tree.0.children.1.normalise.method”：
未知的方法 “minmx”``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kechuang.kit.errors import InvalidInput
from kechuang.scoring import expressions as ex
from kechuang.scoring.schemas import (
    AggregateSpec,
    CohortWeight,
    ImputeSpec,
    NodeSpec,
    NormaliseSpec,
    SystemSpec,
    TransformSpec,
    TreatSpec,
)

SYSTEMS_DIR = Path(__file__).parent / "systems"


class SystemFileError(InvalidInput):
    """An indicator-system file that does not validate; ``errors`` lists (line, key, msg)."""

    def __init__(self, filename: str, errors: list[tuple[int, str, str]]) -> None:
        self.filename = filename
        self.errors = errors
        lines = [_format(filename, *e) for e in errors[:20]]
        if len(errors) > 20:
            lines.append(f"……另有 {len(errors) - 20} 处错误")
        super().__init__("\n".join(lines), errors=errors)


def _format(filename: str, line: int, key: str, msg: str) -> str:
    where = f"{filename} 第{line}行"
    return f"{where}，键“{key}”：{msg}" if key else f"{where}：{msg}"


# --------------------------------------------------------------------------- YAML with lines
class LineDict(dict[Any, Any]):
    """A mapping that remembers the line (1-based) of itself and of each of its keys."""

    line: int = 1
    key_lines: dict[Any, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise _DuplicateKey(key_node.start_mark.line + 1, str(key))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


class _DuplicateKey(Exception):
    def __init__(self, line: int, key: str) -> None:
        self.line, self.key = line, key


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    # an impossible date (2020-13-01) stays text so validation reports it with its line
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _locate(data: Any, loc: tuple[Any, ...]) -> tuple[int, str]:
    """Line and dotted key of a validation-error location, skipping Pydantic's union tags."""
    line = data.line if isinstance(data, LineDict) else 1
    current = data
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(current, LineDict) and part in current:
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
            and part not in ("float", "int", "str", "bool")
        ):
            parts.append(part)  # a missing key
        # anything else is a union/validator tag
    return line, ".".join(parts)


_LITERAL_LABEL = {"method": "方法", "direction": "方向"}


def _message(err: Any, key: str) -> str:
    kind = err["type"]
    value = err.get("input")
    last = key.rsplit(".", 1)[-1]
    if kind == "extra_forbidden":
        return "未知的键（请检查拼写）"
    if kind == "missing":
        return "缺少必填的键"
    if kind == "literal_error":
        label = _LITERAL_LABEL.get(last, "取值")
        expected = err.get("ctx", {}).get("expected", "")
        return f"未知的{label} “{value}”（可选：{expected}）"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        return f"应为数字，实为 “{value}”"
    if kind in ("string_type",):
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
        return f"“{value}” 格式不符（只能用英文字母、数字和下划线，且不以数字开头）"
    if kind in ("greater_than_equal", "greater_than"):
        return f"取值过小：{value}"
    return str(err["msg"])


# --------------------------------------------------------------------------- resolved system
@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    path: tuple[Any, ...]  # location in the file (for errors)
    formula: ex.Node  # with referenced indicators inlined and the denominator applied
    direction: int
    impute: ImputeSpec
    treat: TreatSpec
    transform: TransformSpec
    normalise: NormaliseSpec
    weight: float | CohortWeight
    parent: str | None
    spec: NodeSpec


@dataclass(frozen=True)
class Group:
    code: str
    name: str
    children: tuple[str, ...]
    aggregate: AggregateSpec
    weight: float | CohortWeight
    parent: str | None
    spec: NodeSpec


@dataclass
class System:
    spec: SystemSpec
    filename: str
    sha256: str
    indicators: dict[str, Indicator] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # every node code, pre-order

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> str:
        return self.spec.version

    def inputs(self) -> set[str]:
        """Every data column the formulas read."""
        out: set[str] = set()
        for ind in self.indicators.values():
            out |= ex.names(ind.formula)
        for veto in self.spec.veto:
            out |= ex.names(ex.parse(veto.condition))
        return out

    def cohort_columns(self) -> set[str]:
        cols: set[str] = set()
        for ind in self.indicators.values():
            if ind.impute.group:
                cols.add(ind.impute.group)
            if ind.normalise.within:
                cols.add(ind.normalise.within)
        for code in self.order:
            weight = self.node_weight(code)
            if isinstance(weight, CohortWeight):
                cols.add(weight.by)
        return cols

    def node_weight(self, code: str) -> float | CohortWeight:
        if code in self.indicators:
            return self.indicators[code].weight
        return self.groups[code].weight


def _walk(nodes: list[NodeSpec], path: tuple[Any, ...], parent: str | None
          ) -> Iterator[tuple[NodeSpec, tuple[Any, ...], str | None]]:
    for i, node in enumerate(nodes):
        here = (*path, i)
        yield node, here, parent
        if node.children is not None:
            yield from _walk(node.children, (*here, "children"), node.code)


def _known_names() -> set[str]:
    from kechuang.registry.catalogue import metrics_by_code

    return set(metrics_by_code())


def build(spec: SystemSpec, raw: Any, filename: str, sha256: str,
          known: set[str] | None = None) -> System:
    """Cross-check a validated spec and resolve defaults and formulas."""
    errors: list[tuple[int, str, str]] = []

    def err(loc: tuple[Any, ...], msg: str) -> None:
        line, key = _locate(raw, loc)
        errors.append((line, key, msg))

    known = _known_names() if known is None else known
    known = known | set(spec.columns)
    system = System(spec=spec, filename=filename, sha256=sha256)
    nodes = list(_walk(spec.tree, ("tree",), None))
    seen: dict[str, tuple[Any, ...]] = {}
    for node, path, _ in nodes:
        if node.code in seen:
            err((*path, "code"), f"节点代码 “{node.code}” 重复（第一次出现在第"
                                 f"{_locate(raw, (*seen[node.code], 'code'))[0]}行）")
        else:
            seen[node.code] = path
    indicator_codes = {n.code for n, _, _ in nodes if not n.is_group}
    group_codes = {n.code for n, _, _ in nodes if n.is_group}
    cohorts = set(spec.groups)
    for col in [c for c in (spec.defaults.impute.group, spec.defaults.normalise.within) if c]:
        if col not in cohorts:
            err(("defaults",), f"分组列 “{col}” 未在 groups 中声明")

    parsed: dict[str, ex.Node] = {}
    for node, path, _ in nodes:
        if node.is_group:
            continue
        text = node.formula if node.formula is not None else node.code
        tree = ex.parse(text)
        if node.denominator is not None:
            tree = ex.Binary("/", tree, ex.parse(node.denominator))
        parsed[node.code] = ex.fold(tree)
        for name in sorted(ex.names(parsed[node.code])):
            key = "formula" if node.formula is not None else "code"
            if node.denominator and name in ex.names(ex.parse(node.denominator)):
                key = "denominator"
            if name in group_codes:
                err((*path, key), f"公式不能引用分组节点 “{name}”")
            elif name not in known and (name not in indicator_codes or name == node.code):
                err((*path, key),
                    f"未知的指标或数据列 “{name}”（不在指标目录、columns 或本体系指标中）")
        refs: list[tuple[str, str | None]] = [
            ("impute", (node.impute or spec.defaults.impute).group),
            ("normalise", (node.normalise or spec.defaults.normalise).within),
        ]
        for label, ref in refs:
            if ref and ref not in cohorts:
                err((*path, label), f"分组列 “{ref}” 未在 groups 中声明")
    for i, veto in enumerate(spec.veto):
        if veto.code in seen:
            err(("veto", i, "code"), f"否决项代码 “{veto.code}” 与节点代码重复")
        for name in sorted(ex.names(ex.parse(veto.condition)) - known):
            err(("veto", i, "condition"), f"未知的指标或数据列 “{name}”")
    for node, path, _ in nodes:
        if isinstance(node.weight, CohortWeight) and node.weight.by not in cohorts:
            err((*path, "weight", "by"), f"分组列 “{node.weight.by}” 未在 groups 中声明")

    # inline references between indicators (raw values), detecting cycles
    resolved: dict[str, ex.Node] = {}

    def resolve(code: str, stack: tuple[str, ...]) -> ex.Node:
        if code in resolved:
            return resolved[code]
        if code in stack:
            cycle = " → ".join([*stack[stack.index(code):], code])
            raise _Cycle(code, cycle)
        tree = parsed[code]
        refs = {n: resolve(n, (*stack, code)) for n in ex.names(tree)
                if n in parsed and n != code}
        resolved[code] = ex.substitute(tree, refs) if refs else tree
        return resolved[code]

    for node, path, parent in nodes:
        if node.is_group or node.code not in parsed:
            continue
        try:
            formula = resolve(node.code, ())
        except _Cycle as cyc:
            err((*path, "formula"), f"公式循环引用：{cyc.cycle}")
            continue
        d = spec.defaults
        system.indicators[node.code] = Indicator(
            code=node.code, name=node.name or node.code, path=path, formula=formula,
            direction=node.direction, impute=node.impute or d.impute,
            treat=node.treat or d.treat, transform=node.transform or d.transform,
            normalise=node.normalise or d.normalise, weight=node.weight, parent=parent,
            spec=node,
        )
    for node, _path, parent in nodes:
        if node.is_group:
            system.groups[node.code] = Group(
                code=node.code, name=node.name or node.code,
                children=tuple(c.code for c in node.children or []),
                aggregate=node.aggregate or spec.defaults.aggregate, weight=node.weight,
                parent=parent, spec=node,
            )
        system.order.append(node.code)
    if errors:
        raise SystemFileError(filename, errors)
    return system


class _Cycle(Exception):
    def __init__(self, code: str, cycle: str) -> None:
        self.code, self.cycle = code, cycle


def loads(text: str, filename: str = "<system>", known: set[str] | None = None) -> System:
    """Parse and validate system-file text (``known`` = metric codes; default: catalogue)."""
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        raw = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except _DuplicateKey as dup:
        raise SystemFileError(filename, [(dup.line, dup.key, "键重复")]) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise SystemFileError(filename, [(line, "", f"YAML 语法错误：{exc.problem}")]) from None
    if not isinstance(raw, dict):
        raise SystemFileError(filename, [(1, "", "文件应为一个映射（id、name、tree 等键）")])
    try:
        spec = SystemSpec.model_validate(raw)
    except ValidationError as exc:
        errors: list[tuple[int, str, str]] = []
        for e in exc.errors():
            line, key = _locate(raw, tuple(e["loc"]))
            item = (line, key, _message(e, key))
            if item not in errors:
                errors.append(item)
        raise SystemFileError(filename, errors) from None
    return build(spec, raw, filename, sha, known)


def load(path: str | Path, known: set[str] | None = None) -> System:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"找不到指标体系文件 {p}") from None
    except UnicodeDecodeError:
        raise SystemFileError(p.name, [(1, "", "文件不是 UTF-8 编码")]) from None
    return loads(text, p.name, known)


def shipped() -> dict[str, Path]:
    """The systems shipped with kechuang, by file stem."""
    return {p.stem: p for p in sorted(SYSTEMS_DIR.glob("*.yaml"))}
