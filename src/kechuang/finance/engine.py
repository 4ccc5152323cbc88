"""Pure computation of technology finance: no database, no web, no I/O.

- :func:`product_policy` turns a product's eligibility tree into a policy of the policy
  package (same language, same loader checks, same evaluator);
- :func:`verdict_matrix` evaluates every distinct tree over the enterprises with open needs
  (set-based, the policy engine's frame shared by all products);
- :func:`rank` scores every need × product pair at once (NumPy) and keeps the best per
  need with the parts of the score (the reason of each rank);
- :func:`compensation`, :func:`shown_count` and :func:`assess` are the risk pool, the
  small-count suppression and the annual assessment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from kechuang.finance.parameters import MATCH_PARTS, VERDICTS, MatchRules, PoolRules
from kechuang.kit.errors import InvalidInput
from kechuang.policy.engine import evaluate
from kechuang.policy.gaps import gaps_for
from kechuang.policy.loader import LoadedPolicy, SourceMap, read_yaml, validate_policy
from kechuang.policy.runs import prepare_frame

#: the policy id every product tree is evaluated under (leaf ids start with ``product.``)
POLICY_ID = "product"
VERDICT_CODE = {v: i for i, v in enumerate(("ineligible", *VERDICTS))}
CODE_VERDICT = {i: v for v, i in VERDICT_CODE.items()}
COLLATERAL = ("patent", "property", "equipment", "receivable", "guarantee")


# --------------------------------------------------------------------------- eligibility
def _normalise(node: Any, clause: str) -> Any:
    """Leaf ids prefixed with ``product.``; a leaf without a clause cites the product."""
    if isinstance(node, dict):
        if "id" in node:
            out = dict(node)
            leaf_id = str(out["id"])
            if not leaf_id.startswith(POLICY_ID + "."):
                out["id"] = f"{POLICY_ID}.{leaf_id}"
            out.setdefault("clause", clause)
            return out
        return {k: _normalise(v, clause) for k, v in node.items()}
    if isinstance(node, list):
        return [_normalise(v, clause) for v in node]
    return node


def parse_tree(text: str, name: str) -> dict[str, Any]:
    """A condition tree written as YAML (a bank's form) → the normalised tree, checked by
    the policy loader (line and key named in Chinese on any error)."""
    data, smap = read_yaml(text, "适用条件 eligibility")
    if not isinstance(data, dict):
        raise InvalidInput(
            "适用条件应为一个条件组（all / any / not）",
            "eligibility must be a condition group (all / any / not)",
        )
    tree = _normalise(data, f"{name} 产品说明")
    lines = {("conditions", *k): v for k, v in smap.lines.items()}
    product_policy(name, tree, SourceMap(smap.file, lines))
    return tree


def product_policy(
    name: str, tree: dict[str, Any], smap: SourceMap | None = None, source: str | None = None
) -> LoadedPolicy:
    """The policy whose conditions are the product's tree (validated by the policy loader:
    unknown metrics, duplicate leaf ids and bad expressions are refused)."""
    data = {
        "id": POLICY_ID,
        "name": name,
        "document": {"number": "产品说明", "title": name},
        "effective_from": date(1990, 1, 1),
        "target": "申请该产品的企业",
        "conditions": tree,
    }
    m = smap or SourceMap(source or f"product:{name}")
    if source:
        m.file = source
    return validate_policy(data, m)


def tree_key(tree: dict[str, Any]) -> str:
    return json.dumps(tree, sort_keys=True, ensure_ascii=False)


@lru_cache(maxsize=4096)
def _tree_policy(key: str) -> LoadedPolicy:
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return product_policy("product", json.loads(key), source=f"product-tree:{digest}")


def tree_policy(tree: dict[str, Any]) -> LoadedPolicy:
    """The policy of a tree, validated once per distinct tree (trees are data: many products
    share one; the referenced built-ins are loaded with it)."""
    return _tree_policy(tree_key(tree))


def verdict_matrix(
    data: pd.DataFrame, trees: Sequence[dict[str, Any]], as_of: date, enterprise_ids: np.ndarray
) -> np.ndarray:
    """Verdict codes (:data:`VERDICT_CODE`), one row per enterprise of ``enterprise_ids``,
    one column per tree. ``data`` is the policy package's input table (facts and points);
    distinct trees are evaluated once, over one frame, with one cache for the policies
    they reference (``policy('tech_sme')`` evaluated once for all products)."""
    n, m = len(enterprise_ids), len(trees)
    out = np.full((n, m), VERDICT_CODE["insufficient_data"], dtype=np.int8)
    if n == 0 or m == 0:
        return out
    frame, ids_by_uscc, _hashes = prepare_frame(data, as_of)
    frame_ids = ids_by_uscc.reindex(pd.Index(frame.uscc, dtype=object)).to_numpy(dtype=np.int64)
    order = np.argsort(frame_ids, kind="stable")
    pos = np.searchsorted(frame_ids[order], enterprise_ids)
    pos = np.minimum(pos, max(len(frame_ids) - 1, 0))
    found = frame_ids[order][pos] == enterprise_ids
    rows = order[pos]
    cache: dict[str, Any] = {}
    done: dict[str, np.ndarray] = {}
    for j, tree in enumerate(trees):
        key = tree_key(tree)
        if key not in done:
            ev = evaluate(_tree_policy(key), frame, as_of, cache)
            verdict = np.asarray(ev.verdict, dtype=object)
            col = np.full(len(verdict), VERDICT_CODE["insufficient_data"], dtype=np.int8)
            for v, code in VERDICT_CODE.items():
                col[verdict == v] = code
            done[key] = col
        col = done[key]
        if len(col):
            out[found, j] = col[rows[found]]
    return out


# --------------------------------------------------------------------------- ranking
@dataclass
class Needs:
    """Open needs, one entry per need (arrays of equal length)."""

    need_id: np.ndarray
    amount_wan: np.ndarray  # float
    term_months: np.ndarray
    has_patent: np.ndarray  # patents offered for a pledge (collateral includes "patent")
    has_guarantee: np.ndarray
    points_percentile: np.ndarray  # NaN when missing


@dataclass
class Products:
    product_id: np.ndarray
    bank_id: np.ndarray
    kind: np.ndarray  # object: credit, ip_pledge, guarantee, points_loan
    amount_min: np.ndarray
    amount_max: np.ndarray
    term_min: np.ndarray
    term_max: np.ndarray
    rate_pct: np.ndarray


@dataclass
class Ranked:
    """Kept pairs, flat: need index, product index, rank (1 = best), score and parts."""

    need: np.ndarray
    product: np.ndarray
    rank: np.ndarray
    score: np.ndarray
    verdict: np.ndarray
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    points_missing: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def _range_fit(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """1 inside [lo, hi]; below it x / lo, above it hi / x (the share a product covers)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        below = np.where(lo > 0, x / lo, 1.0)
        above = np.where(x > 0, hi / x, 1.0)
    return np.clip(np.where(x < lo, below, np.where(x > hi, above, 1.0)), 0.0, 1.0)


def rank(needs: Needs, products: Products, verdicts: np.ndarray, rules: MatchRules) -> Ranked:
    """Score every need × product pair (verdicts: need rows × product columns) and keep the
    best ``rules.per_need`` per need. A pair never kept: an ``ineligible`` verdict, or an
    IP-pledge product for a need that offers no patent."""
    n, m = len(needs.need_id), len(products.product_id)
    if n == 0 or m == 0:
        z = np.zeros(0, dtype=np.int64)
        return Ranked(
            z,
            z,
            z,
            np.zeros(0),
            np.zeros(0, dtype=object),
            {p: np.zeros(0) for p in MATCH_PARTS},
            np.zeros(0, bool),
        )
    factor = np.zeros(len(VERDICT_CODE))
    for v, f in rules.verdict_factor.items():
        factor[VERDICT_CODE[v]] = f
    elig = factor[verdicts]
    amount = _range_fit(
        needs.amount_wan[:, None], products.amount_min[None, :], products.amount_max[None, :]
    )
    term = _range_fit(
        needs.term_months[:, None].astype(float),
        products.term_min[None, :],
        products.term_max[None, :],
    )
    kind = products.kind
    is_pledge = (kind == "ip_pledge")[None, :]
    is_guar = (kind == "guarantee")[None, :]
    collateral = np.where(
        is_pledge,
        needs.has_patent[:, None].astype(float),
        np.where(
            is_guar, np.where(needs.has_guarantee[:, None], 1.0, rules.guarantee_without_offer), 1.0
        ),
    )
    missing = np.isnan(needs.points_percentile)
    pts = np.where(missing, rules.points_missing, needs.points_percentile / 100.0)
    points = np.broadcast_to(pts[:, None], (n, m))
    w = rules.weights
    score = (
        w["eligibility"] * elig
        + w["amount"] * amount
        + w["term"] * term
        + w["collateral"] * collateral
        + w["points"] * points
    )
    excluded = (verdicts == VERDICT_CODE["ineligible"]) | (is_pledge & ~needs.has_patent[:, None])
    score = np.where(excluded, -np.inf, score)
    # best first: score desc, then rate asc, then product id asc
    rate = np.broadcast_to(products.rate_pct[None, :], (n, m))
    pid = np.broadcast_to(products.product_id[None, :], (n, m))
    order = np.lexsort((pid, rate, -score), axis=1) if m > 1 else np.zeros((n, 1), np.int64)
    k = min(rules.per_need, m)
    top = order[:, :k]
    rows = np.repeat(np.arange(n), k)
    cols = top.ravel()
    keep = np.isfinite(score[rows, cols])
    rows, cols = rows[keep], cols[keep]
    ranks = np.tile(np.arange(1, k + 1), n)[keep]
    parts = {
        "eligibility": elig[rows, cols],
        "amount": amount[rows, cols],
        "term": term[rows, cols],
        "collateral": collateral[rows, cols],
        "points": points[rows, cols],
    }
    verdict = np.array([CODE_VERDICT[int(c)] for c in range(len(CODE_VERDICT))], dtype=object)[
        verdicts[rows, cols]
    ]
    return Ranked(
        rows.astype(np.int64),
        cols.astype(np.int64),
        ranks.astype(np.int64),
        score[rows, cols],
        verdict,
        parts,
        missing[rows],
    )


# --------------------------------------------------------------------------- disclosure
def shown_count(count: int, min_count: int) -> int | None:
    """A count a bank may see: ``None`` (shown as "< min") when 0 < count < min_count."""
    return None if 0 < count < min_count else count


# --------------------------------------------------------------------------- risk pool
_YUAN = Decimal("0.01")


def compensation(
    *,
    kind: str,
    pool_eligible: bool,
    default_yuan: Decimal,
    paid_this_year_yuan: Decimal,
    pool: PoolRules,
) -> Decimal:
    """The pool's payment on a default: share × principal lost, capped per loan and by what
    is left of the year's cap; 0 for a loan outside the pool."""
    if not pool_eligible or kind not in pool.eligible_kinds or default_yuan <= 0:
        return Decimal(0)
    amount = min(default_yuan * pool.share, pool.cap_per_loan_yuan)
    left = max(pool.cap_per_year_yuan - paid_this_year_yuan, Decimal(0))
    return min(amount, left).quantize(_YUAN, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- assessment
@dataclass
class LoanRow:
    bank: str
    product: str | None
    kind: str
    amount_wan: Decimal
    rate_pct: Decimal
    first_time: bool
    year: int


@dataclass
class Figures:
    key: str
    loans: int
    amount_wan: Decimal
    previous_wan: Decimal
    growth: Decimal | None  # None: no loans the year before (missing, not zero)
    credit_share: Decimal | None
    first_time_share: Decimal | None
    avg_rate_pct: Decimal | None
    score: float = 0.0
    rank: int = 0


CREDIT_KINDS = frozenset({"credit", "points_loan"})
_Q = Decimal("0.0001")


def _q(v: Decimal | None) -> Decimal | None:
    return None if v is None else v.quantize(_Q, rounding=ROUND_HALF_UP)


def figures(rows: Iterable[LoanRow], year: int, by: str = "bank") -> dict[str, Figures]:
    """Per bank (or product): loans and amount in ``year``, growth over the year before,
    share of credit (non-collateral) amount, share of loans to first-time borrowers and
    the amount-weighted average rate."""
    groups: dict[str, list[LoanRow]] = {}
    for r in rows:
        key = r.bank if by == "bank" else (r.product or "")
        groups.setdefault(key, []).append(r)
    out: dict[str, Figures] = {}
    for key, rs in groups.items():
        cur = [r for r in rs if r.year == year]
        prev = sum((r.amount_wan for r in rs if r.year == year - 1), Decimal(0))
        amount = sum((r.amount_wan for r in cur), Decimal(0))
        credit = sum((r.amount_wan for r in cur if r.kind in CREDIT_KINDS), Decimal(0))
        out[key] = Figures(
            key=key,
            loans=len(cur),
            amount_wan=amount,
            previous_wan=prev,
            growth=_q((amount - prev) / prev) if prev > 0 else None,
            credit_share=_q(credit / amount) if amount > 0 else None,
            first_time_share=_q(Decimal(sum(r.first_time for r in cur)) / len(cur))
            if cur
            else None,
            avg_rate_pct=_q(sum((r.amount_wan * r.rate_pct for r in cur), Decimal(0)) / amount)
            if amount > 0
            else None,
        )
    return out


def rank_banks(figs: dict[str, Figures], weights: dict[str, float]) -> list[Figures]:
    """The bureau's ranking: each figure scaled to 0-1 across banks (max = 1; the rate
    inverted, lowest = 1; a missing figure scores 0 for that part), weighted and summed."""
    items = list(figs.values())

    def scaled(values: list[float | None], invert: bool = False) -> list[float]:
        known = [v for v in values if v is not None]
        if not known:
            return [0.0] * len(values)
        if invert:
            lo = min(known)
            return [0.0 if v is None else (lo / v if v > 0 else 1.0) for v in values]
        hi = max(known)
        return [0.0 if v is None else (v / hi if hi > 0 else 0.0) for v in values]

    def f(v: Decimal | None) -> float | None:
        return None if v is None else float(v)

    growth = [f(x.growth) for x in items]
    g_known = [g for g in growth if g is not None]
    g_min = min(g_known) if g_known else 0.0
    cols = {
        "loans": scaled([float(x.loans) for x in items]),
        "amount": scaled([float(x.amount_wan) for x in items]),
        "growth": scaled([None if g is None else g - g_min for g in growth]),
        "credit_share": scaled([f(x.credit_share) for x in items]),
        "first_time_share": scaled([f(x.first_time_share) for x in items]),
        "rate": scaled([f(x.avg_rate_pct) for x in items], invert=True),
    }
    for i, x in enumerate(items):
        x.score = round(sum(weights[k] * cols[k][i] for k in weights), 6)
    items.sort(key=lambda x: (-x.score, x.key))
    for i, x in enumerate(items, start=1):
        x.rank = i
    return items


# --------------------------------------------------------------------------- 积分贷
LINE_ESTIMATE = "points_loan.credit_line"
_LINE_VERDICTS = frozenset({"eligible", "likely"})


def _loan_eval(data: pd.DataFrame, lp: LoadedPolicy, as_of: date) -> tuple[Any, pd.Series]:
    frame, ids_by_uscc, _ = prepare_frame(data, as_of)
    ev = evaluate(lp, frame, as_of)
    ids = ids_by_uscc.reindex(pd.Index(frame.uscc, dtype=object)).to_numpy(dtype=np.int64)
    return ev, pd.Series(ids)


def credit_verdicts(data: pd.DataFrame, lp: LoadedPolicy, as_of: date) -> dict[int, str]:
    if not len(data):
        return {}
    ev, ids = _loan_eval(data, lp, as_of)
    return {int(e): str(v) for e, v in zip(ids, ev.verdict, strict=True)}


def credit_gaps(data: pd.DataFrame, lp: LoadedPolicy, as_of: date,
                uscc: str) -> tuple[list[str], list[str]]:
    """What stands between one enterprise and a 积分贷 line: the policy's gap sentences of
    its unmet conditions (as on its policy page) and the missing inputs (atoms such as
    ``points_tier``) that leave a condition undecided."""
    if not len(data):
        return [], []
    frame, _, _ = prepare_frame(data, as_of)
    if uscc not in set(frame.uscc):
        return [], []
    ev = evaluate(lp, frame, as_of)
    missing = str(ev.missing[ev.index(uscc)] or "")
    return ([g.text for g in gaps_for(ev, uscc, all_unmet=True)],
            [a for a in missing.split(";") if a])


def credit_lines(
    data: pd.DataFrame, lp: LoadedPolicy, as_of: date
) -> dict[int, tuple[Decimal | None, str | None]]:
    """Per enterprise id: the suggested line (万元) of the policy's ``credit_line`` estimate
    where the verdict is eligible or likely (else None: no suggestion — not a zero line),
    with the points tier it was looked up by."""
    if not len(data):
        return {}
    ev, ids = _loan_eval(data, lp, as_of)
    est = ev.estimates.get(LINE_ESTIMATE)
    per = data.drop_duplicates("enterprise_id", keep="last").set_index("enterprise_id")
    raw = (
        per["points_tier"].reindex(ids.to_numpy()).to_numpy(dtype=object)
        if "points_tier" in per
        else np.full(len(ids), None, dtype=object)
    )
    tiers = [None if t is None or t != t else str(t) for t in raw]
    ok = np.isin(np.asarray(ev.verdict, dtype=object), list(_LINE_VERDICTS))
    if est is not None:
        ok &= ~np.asarray(est.nan, dtype=bool) & (est.lo == est.hi) & (est.lo > 0)
        values = est.lo
    else:
        ok &= False
        values = np.zeros(len(ids))
    lines = {v: Decimal(str(float(v))).normalize() for v in np.unique(values[ok])}
    return {
        int(e): (lines[values[i]] if ok[i] else None, tiers[i])
        for i, e in enumerate(ids.to_numpy())
    }


# --------------------------------------------------------------------------- reasons
_REASON: dict[str, dict[str, Any]] = {
    "zh": {
        "eligibility": "资格：{v}",
        "amount": "额度匹配 {v}",
        "term": "期限匹配 {v}",
        "collateral": "担保条件 {v}",
        "points": "创新积分 {v}",
        "points_missing": "积分缺失（按中性值计）",
        "sep": "；",
        "verdict": {
            "eligible": "符合",
            "likely": "很可能符合",
            "borderline": "临界",
            "insufficient_data": "数据不足",
            "ineligible": "不符合",
        },
    },
    "en": {
        "eligibility": "eligibility: {v}",
        "amount": "amount fit {v}",
        "term": "term fit {v}",
        "collateral": "collateral {v}",
        "points": "innovation points {v}",
        "points_missing": "points missing (neutral value used)",
        "sep": "; ",
        "verdict": {
            "eligible": "eligible",
            "likely": "likely eligible",
            "borderline": "borderline",
            "insufficient_data": "insufficient data",
            "ineligible": "ineligible",
        },
    },
}


def parts_json(parts: dict[str, np.ndarray], points_missing: np.ndarray) -> list[str]:
    """The stored parts of each kept pair as JSON text, formatted column-wise (one format per
    pair instead of a dict and ``json.dumps``)."""
    cols = [np.round(np.asarray(parts[k], dtype=float), 4).tolist() for k in MATCH_PARTS]
    flags = ["true" if f else "false" for f in np.asarray(points_missing, dtype=bool)]
    template = "{" + ", ".join(f'"{k}": %r' for k in MATCH_PARTS) + ', "points_missing": %s}'
    return [template % (*vals, flag) for *vals, flag in zip(*cols, flags, strict=True)]


def reason_text(parts: dict[str, Any], verdict: str, locale: str = "zh") -> str:
    t = _REASON["en" if locale == "en" else "zh"]

    def pct(key: str) -> str:
        return f"{float(parts.get(key, 0)) * 100:.0f}%"

    items = [
        t["eligibility"].format(v=t["verdict"].get(verdict, verdict)),
        t["amount"].format(v=pct("amount")),
        t["term"].format(v=pct("term")),
        t["collateral"].format(v=pct("collateral")),
        t["points_missing"] if parts.get("points_missing") else t["points"].format(v=pct("points")),
    ]
    return t["sep"].join(items)
