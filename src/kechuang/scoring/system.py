"""Loading indicator systems: YAML with line numbers → Pydantic validation → cross-checks →
a resolved :class:`System` the engine runs. Every error names the file, the line and the
dotted key, in Chinese, e.g. ``zjg-2.0.yaml 第23行，键“tree.0.children.1.normalise.method”：
未知的方法 “minmx”``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kechuang.kit import rules
from kechuang.registry.catalogue import metrics_by_code
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
LISTS_FILE = Path(__file__).parent / "data" / "lists.yaml"


#: an indicator-system file that does not validate; ``errors`` lists (line, key, message).
#: Files are read by the one rule loader (:mod:`kechuang.kit.rules`).
SystemFileError = rules.RuleFileError
_locate = rules.locate


# --------------------------------------------------------------------------- list cut-offs
class ListTier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: str
    en: str | None = None
    upto: float = Field(gt=0)


class ListRules(rules.RuleHeader):
    """The list cut-offs (``data/lists.yaml``): dated, with their source."""

    by: Literal["percentile", "count"] = "percentile"
    per: Literal["stage", "all"] = "stage"
    tiers: list[ListTier] = Field(min_length=1)


class CohortRules(rules.RuleHeader):
    """The cohort rules (``data/cohorts.yaml``): revenue stages, industry sections, regions."""

    stage: dict[str, Any]
    industry_section: dict[str, Any]
    regions: dict[str, Any]


@cache
def list_rules() -> ListRules:
    """The default list cut-offs, read once by the one rule loader."""
    return rules.load(LISTS_FILE, ListRules)


def default_lists() -> dict[str, Any]:
    """The default ``lists`` run parameter (the cut-offs of ``data/lists.yaml``)."""
    lr = list_rules()
    return {"by": lr.by, "per": lr.per,
            "tiers": [t.model_dump(exclude_none=True) for t in lr.tiers]}


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
    return set(metrics_by_code())


def build(spec: SystemSpec, raw: Any, filename: str, sha256: str,
          known: set[str] | None = None, data_columns: Iterable[str] = ()) -> System:
    """Cross-check a validated spec and resolve defaults and formulas. ``data_columns``
    (file mode: the data file's own columns) may be named by formulas undeclared."""
    errors: list[tuple[int, str, str]] = []

    def err(loc: tuple[Any, ...], msg: str) -> None:
        line, key = _locate(raw, loc)
        errors.append((line, key, msg))

    known = _known_names() if known is None else known
    known = known | set(spec.columns) | set(data_columns)
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
                shown = node.formula if node.formula is not None else node.code
                err((*path, key),
                    f"指标 “{node.code}” 的公式 “{shown}” 引用了未知的指标或数据列 “{name}”"
                    "（不在指标目录、columns、数据文件的列或本体系指标中）")
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
            err(("veto", i, "condition"), f"否决项 “{veto.code}” 的条件 “{veto.condition}” "
                                          f"引用了未知的指标或数据列 “{name}”")
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


def loads(text: str, filename: str = "<system>", known: set[str] | None = None,
          data_columns: Iterable[str] = ()) -> System:
    """Parse and validate system-file text (``known`` = metric codes; default: catalogue;
    ``data_columns``: in file mode, the data file's columns, usable without declaring)."""
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    raw = rules.parse_yaml(text, filename)
    if not isinstance(raw, dict):
        raise SystemFileError(filename, [(1, "", "文件应为一个映射（id、name、tree 等键）")])
    spec = rules.validate(raw, SystemSpec, filename)
    return build(spec, raw, filename, sha, known, data_columns)


def load(path: str | Path, known: set[str] | None = None,
         data_columns: Iterable[str] = ()) -> System:
    text, name = rules.read_text(path)
    return loads(text, name, known, data_columns)


def shipped() -> dict[str, Path]:
    """The systems shipped with kechuang, by file stem."""
    return {p.stem: p for p in sorted(SYSTEMS_DIR.glob("*.yaml"))
            if not p.name.endswith(".cases.yaml")}


# --------------------------------------------------------------------------- list cut-off cases
class ListCase(BaseModel):
    """One case of ``data/lists.cases.yaml``: the points of one cohort's enterprises (and
    which are vetoed) → the list tier each gets (``None``: not listed)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    points: list[float] = Field(min_length=1)
    vetoed: list[bool] | None = None
    tiers: list[str | None]


class ListCaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: str
    cases: list[ListCase] = Field(min_length=1)


def load_list_cases(path: Path | None = None) -> tuple[ListRules, list[ListCase]]:
    """The cut-offs and the YAML cases beside them (run each with
    :func:`kechuang.scoring.runs.run_list_case`)."""
    p = path or LISTS_FILE.with_name("lists.cases.yaml")
    text, name = rules.read_text(p)
    cf = rules.loads(text, ListCaseFile, name)
    return rules.load(p.parent / cf.rules, ListRules), cf.cases
