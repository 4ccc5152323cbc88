"""Loading policy files: YAML with line numbers, Pydantic validation, consistency checks.

A policy file is written by policy staff, so every refusal names the file, the line and
the key, in Chinese. A contradictory file (a leaf or item id used twice, a parameter with
no value in force when the policy starts, bands not descending, an expression naming an
unknown metric, a reference to an unknown policy or a cycle of references) is refused as a
whole.

References: ``policy('tech_sme')`` names another policy by id, resolved to the file of that
id next to the referencing file (``tech_sme.yaml``), else to the built-in policy. The
referenced policies are loaded with the referencing one, so a cycle (a → b → a) is refused
at load time, naming the file, line and key of the reference that closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kechuang.kit import rules
from kechuang.kit.errors import InvalidInput
from kechuang.policy import expr
from kechuang.policy.atoms import POINTS_ATOMS
from kechuang.policy.schemas import Check, Group, Leaf, Policy, ScoreItem
from kechuang.registry.catalogue import metrics_by_code

BUILTIN_DIR = Path(__file__).with_name("builtin")


class PolicyFileError(InvalidInput):
    """A policy or case file is malformed or contradictory."""


Path_ = tuple[str | int, ...]


def _lines(data: Any, path: Path_, out: dict[Path_, int], line: int) -> None:
    """Path → line of every mapping, key and list item of data read by kechuang.kit.rules
    (a list item that is not a mapping takes the line of its list)."""
    if isinstance(data, rules.LineDict):
        out[path] = data.line
        for key, value in data.items():
            out[(*path, str(key))] = data.key_lines.get(key, data.line)
            _lines(value, (*path, str(key)), out, out[(*path, str(key))])
    elif isinstance(data, list):
        if data and isinstance(data[0], rules.LineDict):
            out[path] = data[0].line  # a block list starts at its first item
        for i, item in enumerate(data):
            item_line = item.line if isinstance(item, rules.LineDict) else line
            out[(*path, i)] = item_line
            _lines(item, (*path, i), out, item_line)


@dataclass
class SourceMap:
    """Where each key of a YAML file is, to name the line in errors."""

    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, loc: tuple[Any, ...]) -> int:
        best: Path_ = ()
        current: Path_ = ()
        for part in loc:
            candidate = (*current, part)
            if candidate in self.lines:
                current = candidate
                best = current
        return self.lines.get(best, 1)

    def where(self, loc: tuple[Any, ...]) -> str:
        keys = ".".join(str(p) for p in loc if not (isinstance(p, str) and p[:1].isupper()))
        return f"{self.file} 第 {self.line(loc)} 行，键 {keys or '(根)'}"


def read_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse with the one rule loader (kechuang.kit.rules: duplicate keys refused, lines
    kept) and map the line of every key for this package's messages."""
    smap = SourceMap(file)
    try:
        data = rules.parse_yaml(text, file)
    except rules.RuleFileError as exc:
        line, key, msg = exc.errors[0]
        raise PolicyFileError(f"{file} 第 {line} 行，键 {key or '(根)'}：{msg}",
                              exc.message_en) from None
    if data is not None:
        _lines(data, (), smap.lines, 1)
    return data, smap


_MESSAGES = {
    "extra_forbidden": "不允许的键（拼写错误，或放错了位置）",
    "missing": "缺少必填的键",
}


def validation_error(exc: ValidationError, smap: SourceMap) -> PolicyFileError:
    """The most telling Pydantic error (an unknown key first), with file, line and key."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    zh = _MESSAGES.get(first["type"], first["msg"].removeprefix("Value error, "))
    return PolicyFileError(f"{smap.where(first['loc'])}：{zh}",
                           f"{smap.where(first['loc'])}: {first['msg']}")


def _iter_leaves(group: Group, loc: Path_) -> Iterator[tuple[Leaf, Path_]]:
    for key, children in (("all", group.all), ("any", group.any)):
        for i, child in enumerate(children or []):
            if isinstance(child, Leaf):
                yield child, (*loc, key, i)
            else:
                yield from _iter_leaves(child, (*loc, key, i))
    if group.not_ is not None:
        if isinstance(group.not_, Leaf):
            yield group.not_, (*loc, "not")
        else:
            yield from _iter_leaves(group.not_, (*loc, "not"))


def _iter_items(items: list[ScoreItem], loc: Path_) -> Iterator[tuple[ScoreItem, Path_]]:
    for i, item in enumerate(items):
        yield item, (*loc, i)
        for key in ("sum", "max"):
            yield from _iter_items(getattr(item, key) or [], (*loc, i, key))


@dataclass
class LoadedPolicy:
    """A validated policy with its parsed expressions and the file it came from."""

    policy: Policy
    source: str
    exprs: dict[str, expr.Node]
    leaves: list[Leaf]
    items: dict[str, ScoreItem]
    #: the policies named by ``policy('id')`` in this one's expressions, loaded
    refs: dict[str, LoadedPolicy] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.policy.id

    def ex(self, text: str | float | bool) -> expr.Node:
        return self.exprs[str(text)] if isinstance(text, str) else expr.parse(text)


def _check_names(
    node: expr.Node, policy: Policy, items: dict[str, ScoreItem], where: str,
    earlier: set[str] | None = None,
) -> None:
    metrics = metrics_by_code()
    for name in expr.names(node):
        head, _, rest = name.partition(".")
        if head == "est" and earlier is not None and rest in earlier:
            continue
        if head == "params" and rest in policy.parameters:
            continue
        if head == "points" and rest in items:
            continue
        if name in metrics or name in POINTS_ATOMS or name in {"value", "threshold", "eval_year"}:
            continue
        raise PolicyFileError(
            f"{where}：表达式引用了未知的名称 {name!r}"
            "（应为指标代码、params.参数、points.评分项或积分 points / points_rank / "
            "points_percentile / points_tier / points_veto）",
            f"{where}: unknown name {name!r} in expression",
        )


def validate_policy(data: Any, smap: SourceMap,
                    stack: tuple[Path, ...] = ()) -> LoadedPolicy:
    """Validate a parsed policy file; ``stack`` is the chain of files referencing it."""
    if not isinstance(data, dict):
        raise PolicyFileError(f"{smap.file}：政策文件应为一个映射（键: 值）")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, smap) from exc
    exprs: dict[str, expr.Node] = {}
    ref_locs: list[tuple[expr.Node, Path_]] = []
    items: dict[str, ScoreItem] = {}
    item_locs: list[tuple[ScoreItem, Path_]] = list(_iter_items(policy.scores, ("scores",)))
    for item, loc in item_locs:
        if item.id in items:
            raise PolicyFileError(f"{smap.where((*loc, 'id'))}：评分项 id {item.id!r} 重复使用")
        items[item.id] = item

    def parse_at(text: str | float | bool, loc: Path_, earlier: set[str] | None = None) -> None:
        if not isinstance(text, str):
            return
        try:
            node = expr.parse(text)
        except expr.ExprError as exc:
            raise PolicyFileError(f"{smap.where(loc)}：表达式错误：{exc}") from exc
        _check_names(node, policy, items, smap.where(loc), earlier)
        ref_locs.extend((call, loc) for call in expr.policy_refs(node))
        exprs[text] = node

    for name, param in policy.parameters.items():
        if param.at(policy.effective_from) is None:
            raise PolicyFileError(
                f"{smap.where(('parameters', name, 'values'))}：参数 {name} 在政策生效日 "
                f"{policy.effective_from} 没有有效取值"
            )
    for item, loc in item_locs:
        if item.bands is not None:
            parse_at(item.bands.value, (*loc, "bands", "value"))
        for i, case in enumerate(item.cases or []):
            parse_at(case.when, (*loc, "cases", i, "when"))
    leaves: list[Leaf] = []
    seen: set[str] = set()
    for leaf, loc in _iter_leaves(policy.conditions, ("conditions",)):
        if leaf.id in seen or leaf.id in items:
            raise PolicyFileError(f"{smap.where((*loc, 'id'))}：条件 id {leaf.id!r} 重复使用")
        if not leaf.id.startswith(policy.id + "."):
            raise PolicyFileError(f"{smap.where((*loc, 'id'))}：条件 id 须以 {policy.id}. 开头")
        seen.add(leaf.id)
        leaves.append(leaf)
        for i, check in enumerate(leaf.checks):
            _parse_check(check, (*loc, "checks", i), parse_at)
    for i, est in enumerate(policy.estimates):
        if not est.id.startswith(policy.id + ".") or est.id in seen:
            raise PolicyFileError(
                f"{smap.where(('estimates', i, 'id'))}："
                f"估算项 id 须以 {policy.id}. 开头且不与条件重复"
            )
        seen.add(est.id)
        parse_at(est.value, ("estimates", i, "value"),
                 {e.id.removeprefix(policy.id + ".") for e in policy.estimates[:i]})
    if policy.verdict_score is not None:
        if policy.verdict_score.points not in items:
            raise PolicyFileError(
                f"{smap.where(('verdict_score', 'points'))}：未知评分项 "
                f"{policy.verdict_score.points!r}"
            )
        parse_at(policy.verdict_score.pass_mark, ("verdict_score", "pass_mark"))
    refs = _resolve_refs(policy, smap, ref_locs, stack)
    return LoadedPolicy(policy, smap.file, exprs, leaves, items, refs)


def _resolve_refs(policy: Policy, smap: SourceMap, ref_locs: list[tuple[expr.Node, Path_]],
                  stack: tuple[Path, ...]) -> dict[str, LoadedPolicy]:
    """Load every policy named by ``policy('id')``, refusing unknown ids and cycles."""
    own = Path(smap.file).resolve()
    chain = (*stack, own)
    refs: dict[str, LoadedPolicy] = {}
    for call, loc in ref_locs:
        assert isinstance(call, expr.Call)
        arg = call.args[0]
        if not isinstance(arg, expr.Str):
            raise PolicyFileError(
                f"{smap.where(loc)}：policy(...) 的参数须为带引号的政策 id，如 policy('tech_sme')",
                f"{smap.where(loc)}: policy(...) takes a quoted policy id",
            )
        ref_id = arg.value
        if ref_id in refs:
            continue
        path = _ref_path(own, ref_id)
        if path is None:
            raise PolicyFileError(
                f"{smap.where(loc)}：引用了未知政策 {ref_id!r}"
                f"（在 {own.parent} 与内置政策中都找不到 {ref_id}.yaml）",
                f"{smap.where(loc)}: unknown policy {ref_id!r}",
            )
        if ref_id == policy.id or path in chain:
            names = [p.stem for p in chain[chain.index(path):]] if path in chain else []
            cycle = " → ".join([*names, ref_id]) if names else f"{policy.id} → {ref_id}"
            raise PolicyFileError(
                f"{smap.where(loc)}：政策引用形成循环：{cycle}",
                f"{smap.where(loc)}: cyclic policy reference: {cycle}",
            )
        refs[ref_id] = load_policy_file(path, chain)
        if refs[ref_id].id != ref_id:
            raise PolicyFileError(
                f"{smap.where(loc)}：文件 {path} 的政策 id 是 {refs[ref_id].id!r}，"
                f"不是引用的 {ref_id!r}"
            )
    return refs


def _ref_path(own: Path, ref_id: str) -> Path | None:
    for folder in (own.parent, BUILTIN_DIR.resolve()):
        candidate = (folder / f"{ref_id}.yaml").resolve()
        if candidate.is_file():
            return candidate
    return None


def _parse_check(check: Check, loc: Path_, parse_at: Any) -> None:
    parse_at(check.value, (*loc, "value"))
    if check.threshold is not None:
        parse_at(check.threshold, (*loc, "threshold"))
    for key, text in check.gap_vars.items():
        parse_at(text, (*loc, "gap_vars", key))


def load_policy_file(path: Path, stack: tuple[Path, ...] = ()) -> LoadedPolicy:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(f"无法读取政策文件 {path}：{exc}") from exc
    data, smap = read_yaml(text, str(path))
    return validate_policy(data, smap, stack)


def builtin_paths() -> list[Path]:
    return sorted(p for p in BUILTIN_DIR.glob("*.yaml") if not p.name.endswith(".cases.yaml"))


@cache
def builtin_policies() -> dict[str, LoadedPolicy]:
    loaded = [load_policy_file(p) for p in builtin_paths()]
    return {p.id: p for p in loaded}


def get_policy(policy_id: str) -> LoadedPolicy:
    """A built-in policy by id, or a policy file by path."""
    path = Path(policy_id)
    if path.suffix in {".yaml", ".yml"} and path.exists():
        return load_policy_file(path)
    policies = builtin_policies()
    if policy_id not in policies:
        raise PolicyFileError(
            f"未知政策 {policy_id!r}；内置政策有：{', '.join(sorted(policies))}",
            f"unknown policy {policy_id!r}",
        )
    return policies[policy_id]
