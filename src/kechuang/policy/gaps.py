"""Gap sentences: for every failed leaf, what is short, in the user's terms.

The numbers are computed for all enterprises at once during evaluation (the ``gap_vars``
of each check); only the text is formatted here, per enterprise and only when asked for
display — e.g. "研发费用占比 2.7%，低于 4% 的要求：按近三年销售收入 9,800 万元计，还需增加
研发投入约 127 万元".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from kechuang.policy.engine import Evaluation, Iv

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}")


def fmt(x: float, kind: str) -> str:
    """Format one number the way policy staff write it."""
    if math.isnan(x):
        return "（缺失）"
    if math.isinf(x):
        return "∞"
    if kind == "pct":
        return f"{round(x * 100, 2):g}%"
    if kind == "wan":
        return (f"{round(x):,}" if abs(x) >= 100 else f"{round(x, 2):g}") + " 万元"
    if kind in ("int", "days"):
        return f"{math.ceil(x - 1e-9):,}" + (" 天" if kind == "days" else "")
    if kind == "pts":
        return f"{round(x, 2):g} 分"
    if kind == "bool":
        return "是" if x else "否"
    return f"{round(x, 4):g}"


def _fmt_iv(v: Iv, i: int, kind: str) -> str:
    lo, hi = float(v.lo[i]), float(v.hi[i])
    if lo == hi or math.isnan(lo):
        return fmt(lo, kind)
    return f"{fmt(lo, kind)}–{fmt(hi, kind)}"


@dataclass(frozen=True)
class Gap:
    leaf_id: str
    label: str
    clause: str
    text: str


def gaps_for(evaluation: Evaluation, uscc: str, *, all_unmet: bool = False) -> list[Gap]:
    """Gap sentences of one enterprise: failed leaves (``all_unmet``: also undecided ones)."""
    i = evaluation.index(uscc)
    out: list[Gap] = []
    for leaf_id, res in evaluation.leaves.items():
        unmet = res.state.lo[i] != 1 and not math.isnan(res.state.lo[i])
        if not (res.failed[i] or (all_unmet and unmet)):
            continue
        parts: list[str] = []
        for c in res.checks:
            if c.state.lo[i] == 1:
                continue
            values = {"value": c.value, **c.gap_vars}
            if c.threshold is not None:
                values["threshold"] = c.threshold

            def sub(
                m: re.Match[str], values: dict[str, Iv] = values, default: str = c.check.format
            ) -> str:
                name, kind = m.group(1), m.group(2)
                if name not in values:
                    return m.group(0)
                if kind is None:
                    kind = default if name in ("value", "threshold") else "num"
                return _fmt_iv(values[name], i, kind)

            template = c.check.gap or f"{res.leaf.label}：{{value}}"
            parts.append(_FIELD.sub(sub, template))
        out.append(Gap(leaf_id, res.leaf.label, res.leaf.clause, "；".join(parts)))
    return out
