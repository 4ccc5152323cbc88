"""Set-based evaluation of a policy over a table of enterprise × year × metric values.

Every expression is evaluated over whole NumPy columns (one entry per enterprise), never
enterprise by enterprise. Values are intervals ``[lo, hi]`` so that expert-judged score
items (a range when no estimate is given) carry through to an interval score; NaN means
"an input is missing". Booleans are intervals over {0, 1}: ``[1, 1]`` true, ``[0, 0]``
false, ``[0, 1]`` undecided (depends on an expert range), NaN unknown (missing input),
combined with Kleene's three-valued logic so that a certain failure wins over a missing
input (``ineligible`` before ``insufficient_data``).

Division rule (documented in docs/policies.md): ``x / 0`` is 0 when ``x = 0`` (no activity
and no base: nothing to count) and +∞ when ``x > 0``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kechuang.kit import expressions as kx
from kechuang.kit.errors import InvalidInput
from kechuang.policy import expr
from kechuang.policy.atoms import atom_type
from kechuang.policy.loader import LoadedPolicy, PolicyFileError
from kechuang.policy.schemas import Check, Group, Leaf, Points, ScoreItem
from kechuang.registry.catalogue import metrics_by_code

Arr = np.ndarray
VERDICTS = ("ineligible", "insufficient_data", "eligible", "likely", "borderline")
_TRUE = {"1", "true", "yes", "y", "是", "t", "1.0"}
_FALSE = {"0", "false", "no", "n", "否", "f", "0.0"}
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class Iv:
    """A column of intervals; ``lo is hi`` for exact values."""

    lo: Arr
    hi: Arr

    @classmethod
    def point(cls, a: Arr) -> Iv:
        return cls(a, a)

    @classmethod
    def const(cls, v: float, n: int) -> Iv:
        a = np.full(n, v, dtype=float)
        return cls(a, a)

    @property
    def nan(self) -> Arr:
        return np.isnan(self.lo) | np.isnan(self.hi)


def evaluation_year(as_of: date) -> int:
    """The last complete calendar year before the as-of date."""
    return as_of.year - 1


def _div(x: Arr, y: Arr) -> Arr:
    """x / y with x / 0 = ±inf and 0 / y = 0 for every y, unknown included (nothing of
    nothing is nothing: an enterprise without R&D expense has an R&D share of 0 whatever its
    unknown total costs)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = x / y
    zero = np.where(x > 0, np.inf, np.where(x < 0, -np.inf, 0.0))
    return np.where(x == 0, 0.0, np.where(y == 0, zero, q))


def _with_nan(lo: Arr, hi: Arr, nan: Arr) -> Iv:
    return Iv(np.where(nan, np.nan, lo), np.where(nan, np.nan, hi))


def _and(a: Iv, b: Iv) -> Iv:
    false = (a.hi == 0) | (b.hi == 0)
    nan = (a.nan | b.nan) & ~false
    lo = np.where(false, 0.0, np.fmin(a.lo, b.lo))
    hi = np.where(false, 0.0, np.fmin(a.hi, b.hi))
    return _with_nan(lo, hi, nan)


def _or(a: Iv, b: Iv) -> Iv:
    true = (a.lo == 1) | (b.lo == 1)
    nan = (a.nan | b.nan) & ~true
    lo = np.where(true, 1.0, np.fmax(a.lo, b.lo))
    hi = np.where(true, 1.0, np.fmax(a.hi, b.hi))
    return _with_nan(lo, hi, nan)


def _not(a: Iv) -> Iv:
    return Iv(1.0 - a.hi, 1.0 - a.lo)


#: comparisons and bands look at values rounded to this many decimals, so that a rate
#: exactly on a threshold stays on it (4600 / 4000 − 1 is 0.1499999999999999 in binary)
DECIMALS = 9


def _r(a: Arr) -> Arr:
    return np.round(a, DECIMALS)


def _compare(op: str, a: Iv, b: Iv) -> Iv:
    a, b = Iv(_r(a.lo), _r(a.hi)), Iv(_r(b.lo), _r(b.hi))
    if op in ("<=", "<"):
        return _compare(">=" if op == "<=" else ">", b, a)
    if op == ">=":
        lo, hi = a.lo >= b.hi, a.hi >= b.lo
    elif op == ">":
        lo, hi = a.lo > b.hi, a.hi > b.lo
    else:
        same = (a.lo == a.hi) & (b.lo == b.hi) & (a.lo == b.lo)
        overlap = (a.lo <= b.hi) & (b.lo <= a.hi)
        lo, hi = same, overlap
        if op == "!=":
            lo, hi = ~overlap, ~same
    return _with_nan(lo.astype(float), hi.astype(float), a.nan | b.nan)


def _points(p: Points, n: int) -> Iv:
    if isinstance(p, tuple):
        return Iv(np.full(n, float(p[0])), np.full(n, float(p[1])))
    return Iv.const(float(p), n)


class Frame:
    """The input table reshaped lazily into one column per (metric, year) and enterprise."""

    def __init__(self, data: Any, as_of: date) -> None:
        df = self._checked(_to_pandas(data))
        self.df = df
        self.as_of = as_of
        self.year = evaluation_year(as_of)
        self.uscc = self._codes(df)
        self.n = len(self.uscc)
        self.metrics = metrics_by_code()
        self._cache: dict[tuple[str, int], Arr] = {}
        self._raw: dict[str, Arr] = {}
        founded = self.column("founded_on", 0) if "founded_on" in df.columns else None
        if founded is None:
            self.founded_year = np.full(self.n, np.nan)
        else:
            days = founded.astype("float64")
            ok = ~np.isnan(days)
            fy = np.full(self.n, np.nan)
            fy[ok] = (_EPOCH + days[ok].astype("int64")).astype("datetime64[Y]").astype(
                int
            ) + 1970
            self.founded_year = fy

    def _codes(self, df: pd.DataFrame) -> Arr:
        """The enterprises' codes in order (sorted)."""
        return np.array(sorted(df["uscc"].dropna().unique()), dtype=object)

    def _checked(self, df: pd.DataFrame) -> pd.DataFrame:
        """The input with clean codes and integer years; refuses empty codes, non-years and
        a second row for the same enterprise and year (naming the row)."""
        for col in ("uscc", "year"):
            if col not in df.columns:
                raise InvalidInput(f"输入数据缺少列 {col}", f"input has no column {col}")
        df = df.reset_index(drop=True)
        uscc = df["uscc"].astype(object).where(df["uscc"].notna(), "").astype(str).str.strip()
        if (uscc == "").any():
            row = int(np.flatnonzero((uscc == "").to_numpy())[0]) + 2
            raise InvalidInput(f"第 {row} 行（含表头计）uscc 为空", f"row {row}: empty uscc")
        years = pd.to_numeric(df["year"], errors="coerce")
        if years.isna().any() or (years != years.round()).any():
            row = int(np.flatnonzero((years.isna() | (years != years.round())).to_numpy())[0])
            raise InvalidInput(
                f"第 {row + 2} 行（含表头计）year 不是年份：{df['year'].iloc[row]!r}",
                f"row {row + 2}: year is not a year",
            )
        df = df.assign(uscc=uscc, year=years.astype(int))
        dup = df.duplicated(["uscc", "year"], keep="first")
        if dup.any():
            row = int(np.flatnonzero(dup.to_numpy())[0])
            raise InvalidInput(
                f"第 {row + 2} 行（含表头计）：企业 {df['uscc'].iloc[row]} 的 "
                f"{df['year'].iloc[row]} 年数据重复出现（每家企业每年只能一行）",
                f"row {row + 2}: duplicate enterprise and year",
            )
        return df

    def in_business(self, offset: int) -> Arr:
        return np.isnan(self.founded_year) | (self.year - offset >= self.founded_year)

    def _series(self, name: str, year: int | None) -> pd.Series:
        df = self.df
        if year is not None:
            df = df[df["year"] == year]
        return df.groupby("uscc", sort=False)[name].last().reindex(self.uscc)

    def raw(self, name: str) -> Arr:
        """Text/enum attribute values (for ``one_of``), None where missing."""
        if name not in self._raw:
            if name not in self.df.columns:
                self._raw[name] = np.full(self.n, None, dtype=object)
            else:
                s = self._series(name, None)
                self._raw[name] = s.where(s.notna(), None).astype(object).to_numpy()
        return self._raw[name]

    def column(self, name: str, offset: int) -> Arr:
        meta = self.metrics.get(name)
        is_attr = meta is None or meta.period_type == "attr"
        key = (name, 0 if is_attr else offset)
        if key in self._cache:
            return self._cache[key]
        if name not in self.df.columns:
            out = np.full(self.n, np.nan)
        else:
            s = self._series(name, None if is_attr else self.year - offset)
            out = self._convert(name, s, meta.value_type if meta else (atom_type(name) or "number"))
        self._cache[key] = out
        return out

    def _convert(self, name: str, s: pd.Series, value_type: str) -> Arr:
        if value_type in ("enum", "text"):
            raise PolicyFileError(f"指标 {name} 是文本属性，只能用 one_of({name}, …) 判断")
        if value_type == "date":
            parsed = pd.to_datetime(s, errors="coerce")
            bad = parsed.isna() & s.notna()
            if bad.any():
                raise InvalidInput(f"企业 {bad.idxmax()} 的 {name} 不是日期：{s[bad].iloc[0]!r}")
            days = (parsed - pd.Timestamp("1970-01-01")).dt.days
            return days.astype("float64").to_numpy()
        if value_type == "bool":
            # each distinct value is read once (a column has a handful: 是/否/True/False)
            codes, uniques = pd.factorize(s.to_numpy(dtype=object))
            texts = [str(v).strip().lower() for v in uniques]
            table = np.array([1.0 if t in _TRUE else 0.0 if t in _FALSE else np.nan
                              for t in texts] + [np.nan])
            out = table[codes]  # code -1 (missing) → the trailing NaN
            bad = np.isnan(out) & (codes >= 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InvalidInput(f"企业 {self.uscc[i]} 的 {name} 应为 是/否："
                                   f"{texts[codes[i]]!r}")
            return out
        if s.dtype == np.float64:  # already numbers (the database reader's columns)
            return s.to_numpy(dtype=np.float64)
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna() & s.notna()
        if bad.any():  # text that is not a number (blank text counts as missing)
            bad = bad & (s.astype(str).str.strip() != "")
        if bad.any():
            raise InvalidInput(
                f"企业 {bad.idxmax()} 的 {name} 不是数值：{s[bad].iloc[0]!r}",
                f"{name} of {bad.idxmax()} is not a number",
            )
        return num.astype("float64").to_numpy()


def _to_pandas(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    for attr in ("to_pandas", "df"):
        if hasattr(data, attr):  # pyarrow Table, Ibis table, DuckDB relation
            out = getattr(data, attr)()
            if isinstance(out, pd.DataFrame):
                return out
    raise TypeError(f"cannot evaluate over {type(data).__name__}")


class Evaluator:
    """Evaluates a policy's expressions over a Frame, recording which inputs were missing."""

    def __init__(self, lp: LoadedPolicy, frame: Frame,
                 cache: dict[str, Evaluation] | None = None) -> None:
        self.lp = lp
        #: evaluations of referenced policies over the same frame (``policy('id')``)
        self.cache: dict[str, Evaluation] = {} if cache is None else cache
        self.f = frame
        self.n = frame.n
        self.params: dict[str, float] = {}
        self.param_refs: dict[str, str] = {}
        for name, param in lp.policy.parameters.items():
            when = frame.as_of if param.select == "as_of" else date(frame.year, 12, 31)
            value = param.at(when)
            if value is None:
                raise PolicyFileError(
                    f"{lp.source}：参数 {name} 在 {when} 没有有效取值",
                    f"{lp.source}: parameter {name} has no value in force on {when}",
                )
            self.params[name] = value.value
            self.param_refs[name] = value.ref
        self.touched: dict[str, Arr] = {}
        self.estimates: dict[str, Iv] = {}
        self._points: dict[str, tuple[Iv, dict[str, Arr], Arr]] = {}
        #: rows where a score item read so far (since the last reset) spans its whole range
        #: because an input is missing: a comparison it leaves undecided is "insufficient
        #: data", not "borderline" (a comparison the range decides stays decided)
        self.points_unknown: Arr = np.zeros(self.n, dtype=bool)

    # -- inputs --------------------------------------------------------------------------
    def _touch(self, atom: str, missing: Arr) -> None:
        prev = self.touched.get(atom)
        self.touched[atom] = missing if prev is None else (prev | missing)

    def var(self, name: str, off: int, bind: dict[str, Iv] | None) -> Iv:
        head, _, rest = name.partition(".")
        if bind and name in bind:
            return bind[name]
        if head == "est":
            return self.estimates[rest]
        if name == "eval_year":
            return Iv.const(float(self.f.year), self.n)
        if head == "params":
            return Iv.const(self.params[rest], self.n)
        if head == "points" and rest:
            return self.points(rest)
        col = self.f.column(name, off)
        meta = self.f.metrics.get(name)
        attr = meta is None or meta.period_type == "attr"
        atom = name if attr else f"{name}({self.f.year - off})"
        self._touch(atom, np.isnan(col) & (True if attr else self.f.in_business(off)))
        return Iv.point(col)

    # -- expressions ---------------------------------------------------------------------
    def ev(self, node: expr.Node, off: int = 0, bind: dict[str, Iv] | None = None) -> Iv:
        n = self.n
        if isinstance(node, expr.Num):
            return Iv.const(node.value, n)
        if isinstance(node, expr.Var):
            return self.var(node.name, off, bind)
        if isinstance(node, expr.Unary) and node.op == "-":
            a = self.ev(node.operand, off, bind)
            return Iv(-a.hi, -a.lo)
        if isinstance(node, expr.Unary):
            return _not(self.ev(node.operand, off, bind))
        if isinstance(node, expr.Bin):
            a = self.ev(node.left, off, bind)
            b = self.ev(node.right, off, bind)
            op = node.op
            if op == "and":
                return _and(a, b)
            if op == "or":
                return _or(a, b)
            if op == "+":
                return Iv(a.lo + b.lo, a.hi + b.hi)
            if op == "-":
                return Iv(a.lo - b.hi, a.hi - b.lo)
            if op in ("*", "/"):
                fn = np.multiply if op == "*" else _div
                corners = [fn(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
                return Iv(np.minimum.reduce(corners), np.maximum.reduce(corners))
            return _compare(op, a, b)
        if isinstance(node, expr.Call):
            return self.call(node, off, bind)
        raise PolicyFileError(f"字符串 {node!r} 只能用在 one_of 中")

    def call(self, node: expr.Call, off: int, bind: dict[str, Iv] | None) -> Iv:
        fn, args = node.func, node.args
        if fn in ("sum3", "sumn", "avg3"):
            years = 3 if fn != "sumn" else int(self._const(args[1]))
            lo = np.zeros(self.n)
            hi = np.zeros(self.n)
            count = np.zeros(self.n)
            for k in range(years):
                v = self.ev(args[0], off + k, bind)
                ib = self.f.in_business(off + k)
                lo = lo + np.where(ib, v.lo, 0.0)
                hi = hi + np.where(ib, v.hi, 0.0)
                count += ib
            if fn == "avg3":
                safe = np.maximum(count, 1)
                return Iv(np.where(count > 0, lo / safe, 0.0), np.where(count > 0, hi / safe, 0.0))
            return Iv(lo, hi)
        if fn == "lag":
            return self.ev(args[0], off + int(self._const(args[1])), bind)
        if fn == "growth3":
            return Iv.point(self._growth(args[0], off, bind))
        if fn in ("max", "min"):
            vals = [self.ev(a, off, bind) for a in args]
            red = np.maximum if fn == "max" else np.minimum
            return Iv(red.reduce([v.lo for v in vals]), red.reduce([v.hi for v in vals]))
        if fn == "if":
            c = self.ev(args[0], off, bind)
            a = self.ev(args[1], off, bind)
            b = self.ev(args[2], off, bind)
            lo = np.where(c.lo == 1, a.lo, np.where(c.hi == 0, b.lo, np.fmin(a.lo, b.lo)))
            hi = np.where(c.lo == 1, a.hi, np.where(c.hi == 0, b.hi, np.fmax(a.hi, b.hi)))
            return _with_nan(lo, hi, c.nan)
        if fn == "days_since":
            v = self.ev(args[0], off, bind)
            today = float((np.datetime64(self.f.as_of, "D") - _EPOCH).astype(int))
            return Iv(today - v.hi, today - v.lo)
        if fn == "starts_with":
            if not isinstance(args[0], expr.Var) or not all(
                isinstance(a, expr.Str) for a in args[1:]
            ):
                raise PolicyFileError("starts_with 的写法应为 starts_with(属性, '前缀', …)")
            prefixes = tuple(a.value for a in args[1:] if isinstance(a, expr.Str))
            return self._text_test(args[0].name,
                                   lambda t: str(t).strip().startswith(prefixes))
        if fn == "one_of":
            if not isinstance(args[0], expr.Var) or not all(
                isinstance(a, expr.Str) for a in args[1:]
            ):
                raise PolicyFileError("one_of 的写法应为 one_of(属性, '取值', …)")
            allowed = {a.value for a in args[1:] if isinstance(a, expr.Str)}
            return self._text_test(args[0].name, lambda t: str(t).strip() in allowed)
        if fn == "policy":
            if not isinstance(args[0], expr.Str):
                raise PolicyFileError("policy 的写法应为 policy('政策 id')")
            return self.reference(args[0].value)
        if fn == "known":
            saved = self.touched
            self.touched = {}
            v = self.ev(args[0], off, bind)
            self.touched = saved
            return Iv.point((~v.nan).astype(float))
        raise PolicyFileError(f"未知函数 {fn}")

    def reference(self, ref_id: str) -> Iv:
        """A referenced policy's verdict as a three-valued truth (evaluated first, once per
        frame); where it is ``insufficient_data`` its missing inputs become this leaf's."""
        target = self.lp.refs[ref_id]
        pol = target.policy
        as_of = self.f.as_of
        if as_of < pol.effective_from or (pol.effective_to is not None
                                          and as_of > pol.effective_to):
            return Iv.const(0.0, self.n)  # a policy not in force qualifies nobody
        ref = evaluate(target, self.f, as_of, self.cache)
        assert ref.root is not None
        for atom, mask in ref.atoms.items():
            self._touch(atom, mask)
        return Iv(ref.root.lo.copy(), ref.root.hi.copy())

    def _text_test(self, name: str, test: Any) -> Iv:
        """A test on a text attribute, run once per distinct value (not per enterprise);
        missing where the attribute is missing."""
        codes, uniques = pd.factorize(self.f.raw(name))
        missing = codes < 0
        self._touch(name, missing)
        table = np.array([1.0 if test(u) else 0.0 for u in uniques] + [np.nan])
        return Iv.point(table[codes])

    def _const(self, node: expr.Node) -> float:
        if not isinstance(node, expr.Num):
            raise PolicyFileError("sumn / lag 的年数须为常数")
        return node.value

    def _growth(self, node: expr.Node, off: int, bind: dict[str, Iv] | None) -> Arr:
        """g = ½(v2/v1 + v3/v2) − 1 with the HTE rules for zeros and young enterprises."""
        v3, v2, v1 = (np.maximum(self.ev(node, off + k, bind).lo, 0.0) for k in range(3))
        years = sum(self.f.in_business(off + k).astype(int) for k in range(3))
        with np.errstate(divide="ignore", invalid="ignore"):
            # the one growth formula (kechuang.kit.expressions.growth); the HTE rules here:
            # no base year (v1 = 0) → the two-year form, no middle year (v2 = 0) → 0
            both = kx.growth([v3, v2, v1], np.divide)
            last = kx.growth([v3, v2], np.divide)
            g3 = np.where(v2 == 0, 0.0, np.where(v1 == 0, last, both))
            g2 = np.where(v2 == 0, 0.0, last)
        g3 = np.where(np.isnan(v1) | np.isnan(v2) | np.isnan(v3), np.nan, g3)
        g2 = np.where(np.isnan(v2) | np.isnan(v3), np.nan, g2)
        return np.where(years >= 3, g3, np.where(years == 2, g2, 0.0))

    # -- score items ---------------------------------------------------------------------
    def points(self, item_id: str) -> Iv:
        if item_id in self._points:
            value, touched, unknown = self._points[item_id]
            for atom, mask in touched.items():
                self._touch(atom, mask)
            self.points_unknown = self.points_unknown | unknown
            return value
        saved = self.touched
        self.touched = {}
        value, unknown = self._item(self.lp.items[item_id])
        touched = self.touched
        self.touched = saved
        for atom, mask in touched.items():
            self._touch(atom, mask)
        self._points[item_id] = (value, touched, unknown)
        self.points_unknown = self.points_unknown | unknown
        return value

    def _item(self, item: ScoreItem) -> tuple[Iv, Arr]:
        """An item's points as an interval, and the rows where the interval is the item's
        whole range because an input is missing (a score item of unknown input can still
        decide a verdict: 0–20 points cannot lift 30 points to a pass mark of 60)."""
        n = self.n
        unknown = np.zeros(n, dtype=bool)
        if item.expert is not None:
            result = _points(item.expert, n)
        elif item.bands is not None:
            v = self.ev(self.lp.ex(item.bands.value))
            lo = self._band(item, v.lo)[0]
            hi = self._band(item, v.hi)[1]
            unknown = v.nan
            every = [_points(b.points, n) for b in item.bands.table]
            every.append(_points(item.bands.otherwise, n))
            result = Iv(np.where(unknown, np.minimum.reduce([p.lo for p in every]), lo),
                        np.where(unknown, np.maximum.reduce([p.hi for p in every]), hi))
        elif item.cases is not None:
            res = _points(item.otherwise, n)
            nan = np.zeros(n, dtype=bool)
            for case in reversed(item.cases):
                c = self.ev(self.lp.ex(case.when))
                p = _points(case.points, n)
                lo = np.where(c.lo == 1, p.lo, np.where(c.hi == 0, res.lo, np.fmin(p.lo, res.lo)))
                hi = np.where(c.lo == 1, p.hi, np.where(c.hi == 0, res.hi, np.fmax(p.hi, res.hi)))
                nan = np.where(c.lo == 1, False, nan | c.nan)
                res = Iv(lo, hi)
            # an unknown condition leaves the interval spanning both branches
            result, unknown = res, nan
        else:
            saved = self.points_unknown
            self.points_unknown = np.zeros(n, dtype=bool)
            parts = [self.points(child.id) for child in (item.sum or item.max or [])]
            unknown = self.points_unknown
            self.points_unknown = saved
            red = np.sum if item.sum is not None else np.max
            result = Iv(red([p.lo for p in parts], axis=0), red([p.hi for p in parts], axis=0))
        if item.cap is not None:
            result = Iv(np.minimum(result.lo, item.cap), np.minimum(result.hi, item.cap))
        estimate = f"{self.lp.id}.{item.id}"
        if estimate in self.f.df.columns and not (item.sum or item.max):
            est = self.f.column(estimate, 0)
            use = ~np.isnan(est) & ~unknown
            clipped = np.clip(est, result.lo, result.hi)
            result = Iv(np.where(use, clipped, result.lo), np.where(use, clipped, result.hi))
        return result, unknown

    def _band(self, item: ScoreItem, v: Arr) -> tuple[Arr, Arr]:
        assert item.bands is not None
        v = _r(v)
        other = _points(item.bands.otherwise, self.n)
        lo, hi = other.lo, other.hi
        for band in reversed(item.bands.table):
            cond = v >= band.min if band.min is not None else v > band.bound
            p = _points(band.points, self.n)
            lo = np.where(cond, p.lo, lo)
            hi = np.where(cond, p.hi, hi)
        return lo, hi


@dataclass
class CheckResult:
    check: Check
    state: Iv
    value: Iv
    threshold: Iv | None
    gap_vars: dict[str, Iv]


@dataclass
class LeafResult:
    leaf: Leaf
    state: Iv
    checks: list[CheckResult]
    missing: dict[str, Arr]
    failed: Arr = field(default_factory=lambda: np.zeros(0, dtype=bool))
    needs: Arr = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass
class Evaluation:
    """Verdicts of one policy for every enterprise of the input, column by column."""

    lp: LoadedPolicy
    as_of: date
    year: int
    uscc: Arr
    verdict: Arr
    score_lo: Arr
    score_hi: Arr
    pass_mark: float | None
    leaves: dict[str, LeafResult]
    missing: Arr
    params: dict[str, float]
    estimates: dict[str, Iv] = field(default_factory=dict)
    #: the truth of the whole condition tree (what ``policy('id')`` of this policy reads)
    root: Iv | None = None
    #: missing input → the enterprises whose ``insufficient_data`` verdict it causes
    atoms: dict[str, Arr] = field(default_factory=dict)

    def index(self, uscc: str) -> int:
        hits = np.flatnonzero(self.uscc == uscc)
        if not len(hits):
            raise InvalidInput(f"没有企业 {uscc} 的评价结果")
        return int(hits[0])

    def failed(self) -> Arr:
        return _joined(len(self.uscc), [(k, r.failed) for k, r in self.leaves.items()])

    def table(self) -> pd.DataFrame:
        """The ``policy eval`` output: one row per enterprise, one column per leaf."""
        has_score = self.pass_mark is not None
        mid = (self.score_lo + self.score_hi) / 2
        cols: dict[str, Any] = {
            "uscc": self.uscc,
            "policy_id": self.lp.id,
            "verdict": self.verdict,
            "score": _fmt_col(mid) if has_score else "",
            "score_min": _fmt_col(self.score_lo) if has_score else "",
            "score_max": _fmt_col(self.score_hi) if has_score else "",
            "failed": self.failed(),
        }
        for leaf_id, res in self.leaves.items():
            v = res.checks[0].value
            cols[leaf_id] = _fmt_iv(v)
        for est_id, value in self.estimates.items():
            cols[est_id] = _fmt_iv(value)
        cols["missing"] = self.missing
        return pd.DataFrame(cols)


def _joined(n: int, parts: list[tuple[str, Arr]]) -> Arr:
    """``"a;b"`` per row from boolean masks, as a NumPy object array ("" where none).

    Rows with the same combination of hits share one string: the masks of the rows with a
    hit are packed into bit rows, the distinct bit rows are found by ``np.unique`` (a few
    hundred at most) and only those are joined in Python — no per-row string building.
    """
    out = np.full(n, "", dtype=object)
    if not parts or not n:
        return out
    bits = np.stack([np.asarray(m, dtype=bool) for _, m in parts], axis=1)
    rows = np.flatnonzero(bits.any(axis=1))
    if not len(rows):
        return out
    packed = np.ascontiguousarray(np.packbits(bits[rows], axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    uniq, inverse = np.unique(keys, return_inverse=True)
    names = [key for key, _ in parts]
    texts = np.empty(len(uniq), dtype=object)
    for j, u in enumerate(uniq):
        on = np.unpackbits(np.frombuffer(u.tobytes(), dtype=np.uint8))[:len(names)]
        texts[j] = ";".join(name for name, b in zip(names, on, strict=True) if b)
    out[rows] = texts[inverse.ravel()]
    return out


def _fmt_col(a: Arr) -> Arr:
    """Whole-column number formatting: up to 10 decimals, no trailing ``.0``, NaN → ""."""
    r = np.round(np.asarray(a, dtype=float), 10) + 0.0
    s = pd.Series(r).astype(str).str.removesuffix(".0")
    s[np.isnan(r)] = ""
    return s.to_numpy(dtype=object)


def _fmt_iv(v: Iv) -> Arr:
    lo = _fmt_col(v.lo)
    hi = _fmt_col(v.hi)
    return np.where((lo == hi) | (lo == ""), lo, lo + "-" + hi)


def _group_state(node: Leaf | Group, leaves: dict[str, LeafResult]) -> Iv:
    if isinstance(node, Leaf):
        return leaves[node.id].state
    if node.not_ is not None:
        return _not(_group_state(node.not_, leaves))
    children = [_group_state(c, leaves) for c in (node.all or node.any or [])]
    combine = _and if node.all is not None else _or
    state = children[0]
    for c in children[1:]:
        state = combine(state, c)
    return state


def _mark(node: Leaf | Group, leaves: dict[str, LeafResult], mask: Arr, which: str) -> None:
    """Attribute a certain failure (``failed``) or a missing input (``needs``) to leaves."""
    if isinstance(node, Leaf):
        res = leaves[node.id]
        setattr(res, which, getattr(res, which) | mask)
        return
    if node.not_ is not None:
        _mark(node.not_, leaves, mask, which)
        return
    for child in node.all or node.any or []:
        state = _group_state(child, leaves)
        if which == "failed":
            sub = mask & (state.hi == 0) if node.all is not None else mask
        else:
            sub = mask & state.nan
        _mark(child, leaves, sub, which)


def evaluate(lp: LoadedPolicy, data: Any, as_of: date | None = None,
             cache: dict[str, Evaluation] | None = None) -> Evaluation:
    """Evaluate a policy over a table with columns ``uscc``, ``year`` and metric codes.

    ``cache`` holds the evaluations already done over the same frame (policies referenced
    by ``policy('id')`` are evaluated once and reused).
    """
    as_of = as_of or date.today()
    key = f"{lp.id}@{lp.source}"
    if cache is not None and key in cache and isinstance(data, Frame):
        return cache[key]
    pol = lp.policy
    if as_of < pol.effective_from or (pol.effective_to is not None and as_of > pol.effective_to):
        until = f"至 {pol.effective_to} " if pol.effective_to else ""
        raise InvalidInput(
            f"政策 {pol.id}（{pol.name}）自 {pol.effective_from} 起{until}有效，"
            f"评价日 {as_of} 不在有效期内",
            f"policy {pol.id} is not in force on {as_of}",
        )
    frame = data if isinstance(data, Frame) else Frame(data, as_of)
    if cache is None or not isinstance(data, Frame):
        cache = {}
    ev = Evaluator(lp, frame, cache)
    n = frame.n
    leaves: dict[str, LeafResult] = {}
    for leaf in lp.leaves:
        ev.touched = {}
        state = Iv.const(1.0, n)
        checks: list[CheckResult] = []
        for check in leaf.checks:
            ev.points_unknown = np.zeros(n, dtype=bool)
            value = ev.ev(lp.ex(check.value))
            threshold = ev.ev(lp.ex(check.threshold)) if check.threshold is not None else None
            if check.op is not None and threshold is not None:
                st = _compare(check.op, value, threshold)
            else:
                st = _with_nan((value.lo != 0).astype(float), (value.hi != 0).astype(float),
                               value.nan)
            # points of unknown input that leave the check undecided: more data decides it
            st = _with_nan(st.lo, st.hi, st.nan | (ev.points_unknown & (st.lo != st.hi)))
            bind = {"value": value, **({"threshold": threshold} if threshold else {})}
            saved = ev.touched
            ev.touched = {}
            gap_vars = {k: ev.ev(lp.ex(t), bind=bind) for k, t in check.gap_vars.items()}
            ev.touched = saved
            checks.append(CheckResult(check, st, value, threshold, gap_vars))
            state = _and(state, st)
        leaves[leaf.id] = LeafResult(
            leaf, state, checks, dict(ev.touched),
            failed=np.zeros(n, dtype=bool), needs=np.zeros(n, dtype=bool),
        )
    root = _group_state(lp.policy.conditions, leaves)
    if lp.policy.verdict_score is not None:
        ev.touched = {}
        score = ev.points(lp.policy.verdict_score.points)
        pass_mark = float(ev.ev(lp.ex(lp.policy.verdict_score.pass_mark)).lo[0]) if n else 0.0
        mid = (score.lo + score.hi) / 2
        undecided = np.where(mid >= pass_mark, "likely", "borderline")
    else:
        score = Iv.const(np.nan, n)
        pass_mark = None
        undecided = np.full(n, "borderline")
    verdict = np.where(
        root.hi == 0, "ineligible",
        np.where(root.nan, "insufficient_data", np.where(root.lo == 1, "eligible", undecided)),
    ).astype(object)
    _mark(lp.policy.conditions, leaves, verdict == "ineligible", "failed")
    _mark(lp.policy.conditions, leaves, verdict == "insufficient_data", "needs")
    atoms: dict[str, Arr] = {}
    for res in leaves.values():
        for atom, mask in res.missing.items():
            hit = mask & res.needs & res.state.nan
            atoms[atom] = atoms[atom] | hit if atom in atoms else hit
    missing = _joined(n, [(atom, atoms[atom]) for atom in sorted(atoms)])
    estimates: dict[str, Iv] = {}
    for est in lp.policy.estimates:
        estimates[est.id] = ev.ev(lp.ex(est.value))
        ev.estimates[est.id.removeprefix(lp.id + ".")] = estimates[est.id]
    result = Evaluation(
        lp, as_of, frame.year, frame.uscc, verdict, score.lo, score.hi, pass_mark, leaves,
        missing, ev.params, estimates, root, atoms,
    )
    cache[key] = result
    return result


def evaluate_many(policies: Iterable[LoadedPolicy], data: Any, as_of: date) -> list[Evaluation]:
    """Several policies over the same prepared table (the reshaping is shared)."""
    frame = Frame(data, as_of)
    cache: dict[str, Evaluation] = {}
    return [evaluate(lp, frame, as_of, cache) for lp in policies]
