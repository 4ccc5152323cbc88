"""The statistical model of the demo county: per-division parameters and the vectorised draw
of one chunk of enterprises.

Nothing here touches the database. :func:`draw_chunk` takes a NumPy generator and returns
plain arrays (one row per enterprise, or ``(rows, years)`` / ``(rows, 12)`` matrices), so that
the loader can write them in bulk. Money is kept as integer *cents of 万元* (two decimals),
counts as integers — exact from the start, no floats reach the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kechuang.demo.names import INDUSTRY_CLASSES

YEARS = 5

#: Division (2-digit) parameters:
#: (median log revenue 万元, R&D-active share, R&D intensity median among the active,
#:  revenue per employee 万元, assets / revenue, net margin, energy tce per 万元 output,
#:  tech-staff share among the R&D-active, PhDs per R&D person)
_DIV_DEFAULT = (800.0, 0.35, 0.030, 110.0, 1.0, 0.05, 0.05, 0.12, 0.005)
DIVISIONS: dict[str, tuple[float, float, float, float, float, float, float, float, float]] = {
    "13": (900, 0.20, 0.010, 160, 0.8, 0.04, 0.08, 0.08, 0.002),
    "14": (700, 0.25, 0.012, 120, 0.8, 0.06, 0.06, 0.08, 0.002),
    "17": (1200, 0.35, 0.012, 70, 0.9, 0.04, 0.18, 0.08, 0.001),
    "18": (600, 0.20, 0.010, 40, 0.6, 0.04, 0.03, 0.06, 0.001),
    "21": (600, 0.25, 0.015, 60, 0.8, 0.05, 0.03, 0.08, 0.001),
    "22": (700, 0.25, 0.015, 90, 0.8, 0.05, 0.10, 0.08, 0.001),
    "23": (400, 0.15, 0.012, 60, 0.8, 0.05, 0.04, 0.06, 0.001),
    "26": (2000, 0.60, 0.030, 250, 1.1, 0.07, 0.45, 0.14, 0.008),
    "27": (1800, 0.80, 0.070, 150, 1.4, 0.12, 0.12, 0.25, 0.030),
    "28": (3000, 0.50, 0.025, 300, 1.2, 0.05, 0.40, 0.10, 0.004),
    "29": (700, 0.40, 0.025, 90, 0.9, 0.05, 0.08, 0.10, 0.002),
    "30": (900, 0.40, 0.025, 110, 1.1, 0.05, 0.35, 0.10, 0.002),
    "31": (4000, 0.55, 0.015, 400, 1.1, 0.03, 1.10, 0.10, 0.004),
    "32": (2500, 0.50, 0.018, 300, 1.0, 0.04, 0.30, 0.10, 0.004),
    "33": (900, 0.45, 0.025, 100, 0.9, 0.05, 0.06, 0.10, 0.002),
    "34": (1000, 0.60, 0.035, 100, 1.1, 0.07, 0.03, 0.15, 0.006),
    "35": (1100, 0.70, 0.045, 110, 1.2, 0.08, 0.03, 0.18, 0.008),
    "36": (1500, 0.60, 0.035, 120, 1.1, 0.06, 0.04, 0.15, 0.006),
    "37": (1500, 0.60, 0.035, 120, 1.2, 0.06, 0.04, 0.15, 0.006),
    "38": (1300, 0.65, 0.040, 120, 1.1, 0.07, 0.03, 0.16, 0.008),
    "39": (1500, 0.80, 0.060, 100, 1.2, 0.08, 0.03, 0.25, 0.015),
    "40": (900, 0.80, 0.065, 90, 1.2, 0.10, 0.02, 0.25, 0.015),
    "44": (5000, 0.30, 0.010, 600, 3.0, 0.06, 0.90, 0.08, 0.004),
    "47": (2500, 0.15, 0.006, 80, 0.9, 0.03, 0.0, 0.06, 0.001),
    "48": (2000, 0.20, 0.008, 90, 1.0, 0.04, 0.0, 0.08, 0.001),
    "49": (1000, 0.15, 0.006, 70, 0.8, 0.04, 0.0, 0.06, 0.001),
    "51": (900, 0.04, 0.002, 400, 0.6, 0.02, 0.0, 0.03, 0.0),
    "52": (500, 0.04, 0.002, 100, 0.6, 0.02, 0.0, 0.03, 0.0),
    "54": (500, 0.10, 0.004, 60, 1.2, 0.04, 0.0, 0.04, 0.0),
    "55": (2000, 0.10, 0.004, 150, 2.0, 0.05, 0.0, 0.04, 0.0),
    "63": (800, 0.60, 0.050, 120, 1.5, 0.10, 0.0, 0.35, 0.010),
    "64": (300, 0.70, 0.070, 50, 0.8, 0.08, 0.0, 0.45, 0.010),
    "65": (300, 0.85, 0.090, 40, 0.7, 0.10, 0.0, 0.55, 0.015),
    "70": (3000, 0.02, 0.001, 500, 4.0, 0.08, 0.0, 0.03, 0.0),
    "72": (500, 0.05, 0.004, 80, 1.5, 0.05, 0.0, 0.05, 0.002),
    "73": (200, 0.95, 0.150, 30, 1.5, 0.05, 0.0, 0.60, 0.060),
    "74": (250, 0.60, 0.040, 35, 0.8, 0.08, 0.0, 0.40, 0.010),
    "75": (200, 0.75, 0.080, 35, 0.8, 0.06, 0.0, 0.45, 0.015),
    "77": (600, 0.50, 0.040, 60, 1.5, 0.06, 0.05, 0.20, 0.008),
    "78": (800, 0.10, 0.005, 60, 2.0, 0.03, 0.0, 0.05, 0.0),
}

# Size classes (国家统计局《统计上大中小微型企业划分办法（2017）》), simplified to one rule per
# section group: (employees large, revenue large, employees medium, revenue medium,
# employees small, revenue small); an enterprise is in a class when it meets both floors.
SIZE_RULES = {
    "industrial": (1000, 40000, 300, 2000, 20, 300),
    "construction": (0, 80000, 0, 6000, 0, 300),
    "wholesale": (200, 40000, 20, 5000, 5, 1000),
    "retail": (300, 20000, 50, 500, 10, 100),
    "software": (300, 10000, 100, 1000, 10, 50),
    "realestate": (0, 200000, 0, 1000, 0, 100),
    "other": (300, 10000, 100, 1000, 10, 100),
}
SIZE_NAMES = np.array(["micro", "small", "medium", "large"])


def _size_rule(code: str) -> str:
    d = int(code[:2])
    if 6 <= d <= 46:
        return "industrial"
    if 47 <= d <= 50:
        return "construction"
    if d == 51:
        return "wholesale"
    if d == 52:
        return "retail"
    if d in (63, 64, 65):
        return "software"
    if d == 70:
        return "realestate"
    return "other"


@dataclass(frozen=True)
class IndustryTable:
    """The class table as arrays indexed like :data:`INDUSTRY_CLASSES`."""

    codes: np.ndarray
    section: np.ndarray
    prob: np.ndarray
    params: np.ndarray  # (classes, 9) from DIVISIONS
    size_rule: np.ndarray  # (classes, 6)
    manufacturing: np.ndarray
    hte_field: np.ndarray  # classes whose products commonly fall in a key high-tech field
    words: tuple[tuple[str, ...], ...]


def industry_table(section_of: dict[str, str]) -> IndustryTable:
    codes = [c for c, _, _ in INDUSTRY_CLASSES]
    weights = np.array([w for _, w, _ in INDUSTRY_CLASSES], dtype=float)
    params = np.array([DIVISIONS.get(c[:2], _DIV_DEFAULT) for c in codes], dtype=float)
    rules = np.array([SIZE_RULES[_size_rule(c)] for c in codes], dtype=float)
    section = np.array([section_of[c] for c in codes])
    hte_divs = {"26", "27", "34", "35", "36", "38", "39", "40", "63", "64", "65", "73", "74",
                "75", "77"}
    return IndustryTable(
        codes=np.array(codes),
        section=section,
        prob=weights / weights.sum(),
        params=params,
        size_rule=rules,
        manufacturing=section == "C",
        hte_field=np.array([c[:2] in hte_divs for c in codes]),
        words=tuple(w for _, _, w in INDUSTRY_CLASSES),
    )


@dataclass
class Chunk:
    """One chunk of enterprises: attributes (m,), yearly matrices (m, 5), monthly (m, 12)."""

    m: int
    cls: np.ndarray
    region_idx: np.ndarray
    founded: np.ndarray  # datetime64[D]
    present: np.ndarray  # (m, 5) bool: the enterprise existed in that year
    size: np.ndarray  # index into SIZE_NAMES (latest year)
    jsc: np.ndarray  # 股份有限公司
    money: dict[str, np.ndarray] = field(default_factory=dict)  # cents, (m, 5)
    counts: dict[str, np.ndarray] = field(default_factory=dict)  # integers, (m, 5)
    monthly: dict[str, np.ndarray] = field(default_factory=dict)  # cents, (m, 12)
    rd_active: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    large_industrial: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    hte: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    hte_issue_year: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    hte_issue_day: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    tech_sme: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    tech_sme_year: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    key_field: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # -1 unset
    srdi: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # 0, 1 prov, 2 giant
    rd_inst: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # 0..3
    dishonest: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    abnormal: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    incident: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def _cents(x: np.ndarray) -> np.ndarray:
    return np.rint(x * 100).astype(np.int64)


def _top_share(rng: np.random.Generator, score: np.ndarray, eligible: np.ndarray,
               share_of_all: float) -> np.ndarray:
    """The eligible rows with the highest scores, about ``share_of_all`` of all rows."""
    k = int(round(share_of_all * len(score) + rng.random() - 0.5))
    k = max(0, min(k, int(eligible.sum())))
    out = np.zeros(len(score), bool)
    if k:
        idx = np.flatnonzero(eligible)
        best = idx[np.argsort(-score[idx], kind="stable")[:k]]
        out[best] = True
    return out


def draw_chunk(rng: np.random.Generator, m: int, tbl: IndustryTable, region_prob: np.ndarray,
               first_year: int, today: np.datetime64) -> Chunk:
    """Draw ``m`` enterprises. ``first_year`` is the first of the five reported years."""
    years = first_year + np.arange(YEARS)
    latest = years[-1]
    cls = rng.choice(len(tbl.codes), size=m, p=tbl.prob)
    p = tbl.params[cls]
    (mu_rev, p_active, rd_base, productivity, asset_ratio, margin_mu, energy_int, tech_share,
     phd_rate) = (p[:, i] for i in range(9))
    region_idx = rng.choice(len(region_prob), size=m, p=region_prob)

    # --- size: latest-year revenue (lognormal), employees from productivity
    z = rng.standard_normal(m)
    rev_latest = np.clip(mu_rev * np.exp(1.45 * z), 5.0, 5_000_000.0)
    emp_latest = np.maximum(1, np.rint(rev_latest / productivity
                                       * np.exp(0.35 * rng.standard_normal(m))))

    # --- age: older when bigger; founding date before today
    age = 0.3 + rng.exponential(8.0, m) + 3.0 * np.maximum(z, 0)
    age = np.minimum(age, 40.0)
    founded = today - np.rint(age * 365.25).astype("timedelta64[D]")
    founded_year = founded.astype("datetime64[Y]").astype(int) + 1970
    present = founded_year[:, None] <= years[None, :]

    # --- growth paths: each enterprise its own rate, each year its own noise
    g = rng.normal(0.06, 0.10, m)
    eps = rng.normal(0.0, 0.08, (m, YEARS))
    factor = np.exp(np.log1p(np.clip(g, -0.5, None))[:, None] + eps)  # growth into year t
    # rev[t] = rev[latest] / prod_{s>t} factor[s]
    back = np.cumprod(factor[:, :0:-1], axis=1)[:, ::-1]  # (m, 4): product over s > t
    rev = np.empty((m, YEARS))
    rev[:, -1] = rev_latest
    rev[:, :-1] = rev_latest[:, None] / back
    first_partial = founded_year[:, None] == years[None, :]
    rev = np.where(first_partial, rev * rng.uniform(0.2, 0.8, (m, 1)), rev)
    rev = np.maximum(rev, 1.0)
    emp = np.maximum(1, np.rint(emp_latest[:, None] * (rev / rev_latest[:, None]) ** 0.6
                                * np.exp(rng.normal(0, 0.03, (m, YEARS)))))

    # --- R&D
    rd_active = rng.random(m) < p_active
    intensity = rd_base * np.exp(0.45 * rng.standard_normal(m))
    section = tbl.section[cls]
    # GB/T 4754-2017 sections: C manufacturing, D power, I IT, M research, N environment
    eligible_hte = rd_active & np.isin(section, ["C", "D", "I", "M", "N"]) & (
        founded_year <= latest - 1)
    hte_score = (np.log(intensity) + 0.35 * np.log(rev_latest) + 0.6 * tbl.hte_field[cls]
                 + rng.normal(0, 0.5, m))
    hte = _top_share(rng, hte_score, eligible_hte, 0.125)
    # HTE thresholds of R&D intensity (5 % / 4 % / 3 % by revenue band); ~90 % of HTEs meet them
    need = np.where(rev_latest <= 5000, 0.05, np.where(rev_latest <= 20000, 0.04, 0.03))
    meets = hte & (rng.random(m) < 0.9)
    intensity = np.where(meets, np.maximum(intensity, need * rng.uniform(1.02, 1.5, m)), intensity)
    intensity = np.minimum(intensity, 0.6)
    g_hte = np.where(hte, 0.04, 0.0)  # HTEs grew faster over the window
    rev = rev * np.exp(g_hte[:, None] * (np.arange(YEARS) - (YEARS - 1))[None, :])
    rd = np.where(rd_active[:, None],
                  rev * intensity[:, None] * np.exp(rng.normal(0, 0.1, (m, YEARS))), 0.0)
    rd_dom = rd * np.where(rng.random(m) < 0.05, rng.uniform(0.7, 0.9, m), 1.0)[:, None]

    # --- staff
    share = np.clip(tech_share * np.exp(0.3 * rng.standard_normal(m)), 0.01, 0.95)
    share = np.where(hte & (rng.random(m) < 0.92), np.maximum(share, rng.uniform(0.105, 0.3, m)),
                     share)
    share = np.where(rd_active, share, np.minimum(share, 0.05))
    tech = np.minimum(emp, np.rint(emp * share[:, None]))
    rd_staff = np.minimum(tech, np.rint(tech * rng.uniform(0.45, 0.85, m)[:, None]))
    rd_staff = np.where(rd_active[:, None], rd_staff, 0)
    phd = np.minimum(rd_staff, rng.poisson(rd_staff * phd_rate[:, None]))

    # --- money
    assets = rev_latest * asset_ratio * np.exp(0.3 * rng.standard_normal(m))
    assets_t = assets[:, None] * (rev / rev_latest[:, None]) ** 0.8
    leverage = rng.beta(5.5, 4.5, m)
    liab_t = assets_t * np.clip(leverage[:, None] + rng.normal(0, 0.02, (m, YEARS)), 0.02, 1.2)
    margin = rng.normal(margin_mu, 0.05, m)[:, None] + rng.normal(0, 0.02, (m, YEARS))
    profit = rev * margin
    tax_rate = np.clip(rng.normal(0.045, 0.012, m), 0.005, 0.12)
    tax = rev * tax_rate[:, None]
    costs = np.maximum(rev - profit - tax, 0.0)
    mbr = rev * rng.uniform(0.88, 1.0, m)[:, None]
    non_taxable = np.where(hte[:, None], rev * rng.uniform(0.0, 0.01, (m, YEARS)), 0.0)
    total_income = rev * rng.uniform(1.0, 1.04, m)[:, None] + non_taxable
    ht_share = np.where(rng.random(m) < 0.92, rng.uniform(0.62, 0.95, m), rng.uniform(0.45, 0.6, m))
    ht_rev = total_income * ht_share[:, None]
    large_industrial = tbl.manufacturing[cls] & (rev_latest >= 2000)
    output = rev * rng.uniform(0.95, 1.08, (m, YEARS))

    # --- intellectual property: Poisson grants per year scaled by R&D spending
    cost = np.where(np.isin(section, ["I"]), 90.0, np.where(section == "M", 70.0, 130.0))
    grants = rng.poisson(rd / cost[:, None])
    age_before = np.clip(first_year - founded_year, 0, 10)
    stock0 = np.where(rd_active, rng.poisson(rd[:, 0] / cost * age_before * 0.5), 0)
    inv = stock0[:, None] + np.cumsum(grants, axis=1)
    apps = rng.poisson(rd / (cost[:, None] * 0.45))
    class1 = inv + np.cumsum(rng.poisson(np.where(rd_active, 0.02, 0.0)[:, None],
                                         (m, YEARS)), axis=1)
    c2_cost = np.where(section == "I", 12.0, 35.0)
    class2 = (np.where(rd_active, rng.poisson(rd[:, 0] / c2_cost * age_before * 0.6), 0)[:, None]
              + np.cumsum(rng.poisson(rd / c2_cost[:, None]), axis=1))
    pct = np.where(rev_latest[:, None] >= 5000, rng.poisson(apps * 0.06), 0)
    transformations = np.where((hte | rd_active)[:, None], rng.poisson(
        np.where(hte, 3.0, 0.6)[:, None], (m, YEARS)), 0)
    standards = rng.poisson(np.where(rd_active & (rev_latest > 3000), 0.08, 0.0)[:, None],
                            (m, YEARS))
    awards_prov = rng.poisson(np.where(hte, 0.02, 0.0)[:, None], (m, YEARS))
    awards_nat = rng.poisson(np.where(hte & (rev_latest > 20000), 0.01, 0.0)[:, None], (m, YEARS))
    equity = np.where((rd_active[:, None]) & (rng.random((m, YEARS)) < np.where(hte, 0.06, 0.015)
                                               [:, None]),
                      np.exp(rng.normal(np.log(1500), 1.0, (m, YEARS))), 0.0)
    contracts = np.where(rd_active[:, None] & (rng.random((m, YEARS)) < 0.10),
                         np.exp(rng.normal(np.log(80), 1.2, (m, YEARS))), 0.0)

    # --- size class from the latest year
    rule = tbl.size_rule[cls]
    e, r = emp_latest, rev_latest
    size = np.where((e >= rule[:, 0]) & (r >= rule[:, 1]), 3,
                    np.where((e >= rule[:, 2]) & (r >= rule[:, 3]), 2,
                             np.where((e >= rule[:, 4]) & (r >= rule[:, 5]), 1, 0)))
    jsc = rng.random(m) < np.array([0.01, 0.04, 0.2, 0.6])[size]

    # --- qualifications
    hte_issue_year = latest - rng.integers(0, 3, m)  # certificates are valid for three years
    hte_issue_year = np.maximum(hte_issue_year, founded_year + 1)
    hte_issue_day = rng.integers(0, 40, m)  # certificates are dated in late Nov / Dec
    eligible_sme = rd_active & (emp_latest <= 500) & (rev_latest <= 20000) & (assets <= 20000)
    sme_score = np.log(intensity) + rng.normal(0, 1.0, m) + 0.8 * hte
    tech_sme = _top_share(rng, sme_score, eligible_sme, 0.20)
    cur = latest + 1
    tech_sme_year = np.where(rng.random(m) < 0.6, cur, cur - 1)
    tech_sme_year = np.maximum(tech_sme_year, np.maximum(founded_year, 2017))
    key_field = np.full(m, -1, np.int8)
    key_field[tech_sme] = (rng.random(int(tech_sme.sum())) < 0.4).astype(np.int8)
    key_field[hte] = (rng.random(int(hte.sum())) < 0.96).astype(np.int8)
    eligible_srdi = (tbl.manufacturing[cls] & rd_active & (size >= 1) & (size <= 2)
                     & (founded_year <= latest - 2))
    srdi_score = np.log(intensity) + 0.5 * np.log(rev_latest) + rng.normal(0, 0.6, m) + hte
    prov = _top_share(rng, srdi_score, eligible_srdi, 0.03)
    giant = _top_share(rng, srdi_score, prov, 0.003)
    srdi = np.where(giant, 2, np.where(prov, 1, 0)).astype(np.int8)
    inst_u = rng.random(m)
    inst_base = rd_active & ((size >= 1) | hte)
    rd_inst = np.where(inst_base & (inst_u < 0.004 * (size + 1) * (1 + hte)), 3,
                       np.where(inst_base & (inst_u < 0.04 * (size + 1) * (1 + hte)), 2,
                                np.where(inst_base & (inst_u < 0.15 * (size + 1)), 1, 0)))
    dishonest = rng.random(m) < 0.004
    abnormal = rng.random(m) < 0.008
    incident = np.isin(section, ["C", "E"]) & (rng.random(m) < 0.0025)  # E: construction

    # --- monthly energy and output for manufacturers above designated size (规上), latest year
    season = np.array([0.92, 0.70, 1.02, 1.02, 1.03, 1.04, 1.0, 1.0, 1.04, 1.0, 1.05, 1.12])
    w = season[None, :] * np.exp(rng.normal(0, 0.05, (m, 12)))
    w = w / w.sum(axis=1, keepdims=True)
    out_c = _cents(output[:, -1])
    month_out = np.floor(out_c[:, None] * w).astype(np.int64)
    month_out[:, -1] += out_c - month_out.sum(axis=1)  # months add up to the year exactly
    e_int = energy_int * np.exp(0.25 * rng.standard_normal(m))
    energy = month_out / 100.0 * e_int[:, None] * np.exp(rng.normal(0, 0.04, (m, 12)))
    co2 = energy * rng.uniform(2.3, 2.7, m)[:, None]

    ch = Chunk(m=m, cls=cls, region_idx=region_idx, founded=founded, present=present, size=size,
               jsc=jsc)
    ch.money = {
        "revenue": _cents(rev), "main_business_revenue": _cents(mbr),
        "total_income": _cents(total_income), "non_taxable_income": _cents(non_taxable),
        "high_tech_revenue": _cents(ht_rev), "rd_expense": _cents(rd),
        "rd_expense_domestic": _cents(rd_dom), "total_costs": _cents(costs),
        "total_assets": _cents(assets_t), "total_liabilities": _cents(liab_t),
        "net_profit": _cents(profit), "tax_paid": _cents(tax),
        "equity_financing": _cents(equity), "tech_contract_value": _cents(contracts),
        "industrial_output": _cents(output),
    }
    ch.money["rd_expense_domestic"] = np.minimum(ch.money["rd_expense_domestic"],
                                                 ch.money["rd_expense"])
    ch.counts = {
        "employees": emp.astype(np.int64), "tech_staff": tech.astype(np.int64),
        "rd_staff": rd_staff.astype(np.int64), "phd_staff": phd.astype(np.int64),
        "class1_ip": class1, "class2_ip": class2, "invention_patents": inv,
        "invention_applications": apps, "pct_applications": pct,
        "transformations": transformations, "standards_led": standards,
        "awards_national": awards_nat, "awards_provincial": awards_prov,
    }
    ch.monthly = {"output_month": month_out, "energy_tce": _cents(energy), "co2_t": _cents(co2)}
    ch.rd_active = rd_active
    ch.large_industrial = large_industrial
    ch.hte = hte
    ch.hte_issue_year = hte_issue_year
    ch.hte_issue_day = hte_issue_day
    ch.tech_sme = tech_sme
    ch.tech_sme_year = tech_sme_year
    ch.key_field = key_field
    ch.srdi = srdi
    ch.rd_inst = rd_inst.astype(np.int8)
    ch.dishonest = dishonest
    ch.abnormal = abnormal
    ch.incident = incident
    return ch
