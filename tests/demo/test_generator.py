"""The demo county generator, on the real database (SQLite and PostgreSQL).

One module-wide demo database of N=1,500 serves the read-only checks; determinism, refusal
and rollback build their own small ones.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from kechuang.auth.actor import Actor
from kechuang.bootstrap import initialise
from kechuang.db import unit_of_work
from kechuang.demo.accounts import PASSWORD
from kechuang.demo.names import INDUSTRY_CLASSES
from kechuang.kit.errors import Conflict
from kechuang.kit.uscc import is_valid_uscc
from kechuang.models import (
    AuditEvent,
    Bank,
    Enterprise,
    Expert,
    Fact,
    ImportBatch,
    Industry,
    Institute,
    Metric,
    Region,
    User,
)
from kechuang.registry.catalogue import metrics_by_code
from tests.conftest import login

# the module-scoped fixtures are built once: one worker runs the module (-n 2 --dist loadgroup)
pytestmark = pytest.mark.xdist_group("demo-test_generator")

N = 1500
SEED = 20240601
COUNTY = "320582"
LATEST = date.today().year - 1
YEARS = list(range(LATEST - 4, LATEST + 1))


@pytest.fixture(scope="module")
def demo(db_factory: Any) -> Engine:
    engine = db_factory.engine(seeded=False)
    initialise(engine, demo=N, seed=SEED)
    return engine


def q(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def metric_id(engine: Engine, code: str) -> int:
    return int(q(engine, "SELECT id FROM metric WHERE code = :c", c=code)[0][0])


def attr_map(engine: Engine, code: str) -> dict[int, str]:
    rows = q(engine, "SELECT enterprise_id, value_text FROM fact WHERE metric_id = :m "
                     "AND period = 0 AND is_current = :t", m=metric_id(engine, code), t=True)
    return dict(rows)


def yearly_values(engine: Engine, code: str, year: int) -> dict[int, Decimal]:
    with unit_of_work(engine) as s:
        rows = s.execute(select(Fact.enterprise_id, Fact.value_num).where(
            Fact.metric_id == select(Metric.id).where(Metric.code == code).scalar_subquery(),
            Fact.period == year)).all()
    return {int(e): v for e, v in rows if v is not None}


def test_counts_of_everything(demo: Engine) -> None:
    with unit_of_work(demo) as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == N
        assert s.scalar(select(func.count()).select_from(Institute)) == 30
        assert s.scalar(select(func.count()).select_from(Expert)) == 150
        assert s.scalar(select(func.count()).select_from(Bank)) == 6
        roles = Counter(s.scalars(select(User.role)))
        assert (s.scalar(select(func.count()).select_from(Fact)) or 0) > N * 30
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.action == "demo.generate"))
    assert roles == {"bureau_admin": 1, "bureau_staff": 2, "department": 5, "enterprise": 1,
                     "institute": 1, "expert": 1, "bank": 1}


def test_credit_codes_are_valid_unique_and_of_the_county(demo: Engine) -> None:
    codes = [r[0] for r in q(demo, "SELECT uscc FROM enterprise")]
    assert len(codes) == len(set(codes)) == N
    assert all(is_valid_uscc(c) for c in codes)
    assert all(c.startswith("91" + COUNTY) for c in codes)


def test_names_are_unique_and_believable(demo: Engine) -> None:
    names = [r[0] for r in q(demo, "SELECT name FROM enterprise")]
    assert len(set(names)) == N
    pattern = re.compile(r"^张家港[\u4e00-\u9fff]{3,}(股份)?有限公司$")
    assert all(pattern.match(n) for n in names), [n for n in names if not pattern.match(n)][:5]
    assert 0 < sum(n.endswith("股份有限公司") for n in names) < N * 0.2


def test_every_industry_code_is_a_real_class_and_manufacturing_dominates(demo: Engine) -> None:
    with unit_of_work(demo) as s:
        classes = dict(s.execute(select(Industry.code, Industry.section)
                                 .where(Industry.level == 4)).all())
        used = [c for c in s.scalars(select(Enterprise.industry_code)) if c]
    assert all(code in classes for code, _, _ in INDUSTRY_CLASSES)
    assert all(code in classes for code in used)
    sections = Counter(classes[c] for c in used)
    assert sections["C"] / N > 0.45
    assert sections["C"] == max(sections.values())
    assert {"I", "M", "F", "E", "K"} <= set(sections)
    # attribute facts carry the same code
    assert attr_map(demo, "industry_code") == dict(q(demo, "SELECT id, industry_code "
                                                          "FROM enterprise"))


def test_enterprises_sit_in_the_towns_and_parks_of_the_county(demo: Engine) -> None:
    rows = q(demo, "SELECT r.parent_code, r.level, count(*) FROM enterprise e "
                   "JOIN region r ON r.code = e.region_code GROUP BY r.parent_code, r.level")
    assert {r[0] for r in rows} == {COUNTY}
    assert {r[1] for r in rows} == {"town", "park"}
    assert sum(r[2] for r in rows) == N


def test_distributions_are_in_their_documented_bands(demo: Engine) -> None:
    with unit_of_work(demo) as s:
        hte = s.scalar(select(func.count()).where(Enterprise.hte_cert_no.is_not(None))) or 0
        sme = s.scalar(select(func.count()).where(Enterprise.tech_sme_year.is_not(None))) or 0
        prov = s.scalar(select(func.count()).where(Enterprise.srdi_level == "province")) or 0
        flagged = s.scalar(select(func.count()).where(
            Enterprise.seriously_dishonest | Enterprise.abnormal_operation)) or 0
        sizes = Counter(s.scalars(select(Enterprise.size_class)))
        industries = dict(s.execute(select(Enterprise.id, Enterprise.industry_code))
                          .all())
    assert 0.10 <= hte / N <= 0.15
    assert 0.17 <= sme / N <= 0.23
    assert 0.015 <= prov / N <= 0.045
    assert 0.003 <= flagged / N <= 0.03
    assert sizes["micro"] > sizes["small"] > sizes["medium"] > sizes["large"] > 0

    rev = yearly_values(demo, "revenue", LATEST)
    rd = yearly_values(demo, "rd_expense", LATEST)

    def intensity(prefixes: tuple[str, ...]) -> float:
        ids = [i for i, c in industries.items() if c and c.startswith(prefixes) and i in rev]
        return float(sum(rd[i] for i in ids) / sum(rev[i] for i in ids))

    wholesale_retail = intensity(("51", "52"))  # section F of GB/T 4754-2017
    assert intensity(("39",)) > 0.03 > 0.005 > wholesale_retail
    assert intensity(("65",)) > intensity(("31",))


def test_people_and_patents_are_consistent(demo: Engine) -> None:
    emp, tech, rd, phd = (yearly_values(demo, c, LATEST)
                          for c in ("employees", "tech_staff", "rd_staff", "phd_staff"))
    assert len(emp) > N * 0.9
    for i, t in tech.items():
        assert emp[i] >= t >= rd[i] >= phd[i] >= 0
        assert t == t.to_integral_value()
    patents = [yearly_values(demo, "invention_patents", y) for y in YEARS]
    grown = [i for i in patents[-1] if i in patents[0]]
    assert all(patents[-1][i] >= patents[0][i] for i in grown)  # a stock only grows here
    assert sum(patents[-1].values()) > 0
    assert 0 in set(patents[-1].values())  # zero is reported, not left out


def test_money_is_exact_cents(demo: Engine) -> None:
    rev = yearly_values(demo, "revenue", LATEST)
    profit = yearly_values(demo, "net_profit", LATEST)
    assert all(isinstance(v, Decimal) and v == v.quantize(Decimal("0.01")) for v in rev.values())
    assert all(v > 0 for v in rev.values())
    assert any(v < 0 for v in profit.values())  # some enterprises make a loss


def test_five_years_of_facts_and_growth_paths(demo: Engine) -> None:
    periods = {r[0] for r in q(demo, "SELECT DISTINCT period FROM fact WHERE metric_id = :m",
                               m=metric_id(demo, "revenue"))}
    assert periods == set(YEARS)
    first, last = yearly_values(demo, "revenue", YEARS[0]), yearly_values(demo, "revenue", LATEST)
    both = [i for i in first if i in last]
    growth = [float(last[i] / first[i]) for i in both]
    assert len(both) > N * 0.5
    assert len({round(g, 6) for g in growth}) > len(growth) * 0.9  # each its own path
    assert 1.05 < sorted(growth)[len(growth) // 2] < 1.6  # median growth over four years


def test_monthly_energy_for_manufacturers_of_the_latest_year(demo: Engine) -> None:
    month = metric_id(demo, "output_month")
    rows = q(demo, "SELECT enterprise_id, sum(value_num), count(*), min(period), max(period) "
                   "FROM fact WHERE metric_id = :m GROUP BY enterprise_id", m=month)
    assert rows
    assert all(r[2] == 12 and r[3] == LATEST * 100 + 1 and r[4] == LATEST * 100 + 12
               for r in rows)
    output = yearly_values(demo, "industrial_output", LATEST)
    with unit_of_work(demo) as s:
        sums = dict(s.execute(select(Fact.enterprise_id, func.sum(Fact.value_num)).where(
            Fact.metric_id == month).group_by(Fact.enterprise_id)).all())
    assert all(output[i] == Decimal(str(v)).normalize() or output[i] == v
               for i, v in sums.items())
    energy = q(demo, "SELECT count(*) FROM fact WHERE metric_id IN (:a, :b)",
               a=metric_id(demo, "energy_tce"), b=metric_id(demo, "co2_t"))[0][0]
    assert energy == 2 * 12 * len(rows)
    sections = set(q(demo, "SELECT DISTINCT i.section FROM fact f JOIN enterprise e "
                           "ON e.id = f.enterprise_id JOIN industry i ON i.code = e.industry_code "
                           "WHERE f.metric_id = :m", m=month))
    assert sections == {("C",)}


def test_batches_per_department_and_year_with_their_facts(demo: Engine) -> None:
    metrics = metrics_by_code()
    with unit_of_work(demo) as s:
        batches = s.scalars(select(ImportBatch)).all()
        depts = {b.id: b.department_code for b in batches}
        by_batch = dict(s.execute(select(Fact.batch_id, func.count()).group_by(Fact.batch_id))
                        .all())
        pairs = s.execute(select(Metric.code, Fact.batch_id).join(Metric, Metric.id ==
                                                                    Fact.metric_id).distinct())
        for code, batch_id in pairs:
            assert depts[batch_id] == metrics[code].sources[0], code
    keys = [(b.department_code, re.search(r"-(\d{4})\.csv$", b.filename)) for b in batches]
    assert all(m for _, m in keys)
    assert len({(d, m.group(1)) for d, m in keys if m}) == len(batches)
    assert {"tax", "ip", "hrss", "kjj", "stats", "market"} <= set(depts.values())
    for b in batches:
        assert b.template == "demo" and b.layout == "demo" and b.status == "committed"
        assert b.filename.startswith("演示数据-") and len(b.content_hash) == 64
        assert b.facts_new == by_batch[b.id] > 0
    tax_years = sorted(b.filename for b in batches if b.department_code == "tax")
    assert tax_years == [f"演示数据-税务局-{y}.csv" for y in YEARS]


def test_derived_columns_agree_with_attribute_facts(demo: Engine) -> None:
    with unit_of_work(demo) as s:
        ents = s.scalars(select(Enterprise)).all()
        sme: dict[int, Any] = dict(s.execute(select(Fact.enterprise_id, Fact.value_num).where(
            Fact.metric_id == select(Metric.id).where(
                Metric.code == "tech_sme_registered_year").scalar_subquery())).all())
    cert, expires = attr_map(demo, "hte_cert_no"), attr_map(demo, "hte_cert_expires_on")
    srdi, inst = attr_map(demo, "srdi_level"), attr_map(demo, "rd_institution_level")
    key, founded = attr_map(demo, "in_key_tech_field"), attr_map(demo, "founded_on")
    names, regions = attr_map(demo, "name"), attr_map(demo, "region_code")
    flags = {c: attr_map(demo, c) for c in ("seriously_dishonest", "abnormal_operation",
                                             "major_incident_last_year")}
    for e in ents:
        assert e.hte_cert_no == cert.get(e.id)
        assert (e.hte_expires_on.isoformat() if e.hte_expires_on else None) == expires.get(e.id)
        assert e.tech_sme_year == (int(sme[e.id]) if e.id in sme else None)
        assert e.srdi_level == srdi.get(e.id)
        assert e.rd_institution_level == inst.get(e.id)
        assert e.in_key_tech_field == ({"true": True, "false": False}.get(key[e.id])
                                       if e.id in key else None)
        assert e.founded_on is not None and e.founded_on.isoformat() == founded[e.id]
        assert e.name == names[e.id] and e.region_code == regions[e.id]
        for col, values in flags.items():
            assert getattr(e, col) == (values.get(e.id) == "true")
        if e.hte_cert_no:
            m = re.fullmatch(r"GR(\d{4})32(\d{6})", e.hte_cert_no)
            assert m and e.hte_expires_on
            assert e.hte_expires_on.year == int(m.group(1)) + 3  # three years of validity
            assert e.hte_expires_on >= date.today().replace(month=1, day=1)
    assert len({e.hte_cert_no for e in ents if e.hte_cert_no}) == len(cert)
    assert sum(e.srdi_level == "national_little_giant" for e in ents) >= 1
    assert set(inst.values()) <= {"city", "province", "national"}


def test_experts_institutes_banks(demo: Engine) -> None:
    with unit_of_work(demo) as s:
        experts = s.scalars(select(Expert)).all()
        usccs = set(s.scalars(select(Enterprise.uscc)))
        institutes = s.scalars(select(Institute)).all()
        kinds = Counter(i.kind for i in institutes)
    conflicted = [e for e in experts if e.conflicts]
    assert 3 <= len(conflicted) <= 15
    assert all(set(e.conflicts) <= usccs for e in conflicted)
    assert all(e.fields and e.title for e in experts)
    assert len({e.name for e in experts}) == 150
    assert kinds["university"] >= 5 and kinds["new_rd"] >= 10 and kinds["institute"] >= 4
    assert sum(i.region_code.startswith(COUNTY) for i in institutes) >= 20


def test_demo_accounts_log_in_with_their_roles(demo: Engine) -> None:
    from kechuang.app import create_app

    expected = {"admin": ("bureau_admin", COUNTY), "staff": ("bureau_staff", COUNTY),
                "tax": ("department", COUNTY), "stats": ("department", COUNTY),
                "ip": ("department", COUNTY), "hrss": ("department", COUNTY),
                "kjj": ("department", COUNTY), "enterprise": ("enterprise", None),
                "institute": ("institute", None), "expert": ("expert", None),
                "bank": ("bank", COUNTY), "staff_yangshe": ("bureau_staff", "320582100")}
    app = create_app(demo)
    for username, (role, region) in expected.items():
        with TestClient(app, base_url="http://testserver") as client:
            login(client, username, PASSWORD)
            me = client.get("/api/v1/me").json()
            assert me["role"] == role, username
            assert me["region_code"].startswith(COUNTY)
            if region:
                assert me["region_code"] == region
    with unit_of_work(demo) as s:
        user = s.scalar(select(User).where(User.username == "enterprise"))
        assert user is not None and user.enterprise_id is not None
        ent = s.get(Enterprise, user.enterprise_id)
        assert ent is not None and ent.hte_cert_no  # the showcase is a high-tech enterprise
        assert s.scalar(select(Region.name).where(Region.code == "320582100")) == "杨舍镇"


def checksums(engine: Engine) -> tuple[str, str]:
    ent = hashlib.sha256()
    for row in q(engine, "SELECT * FROM enterprise ORDER BY id"):
        ent.update(repr(tuple(row)).encode())
    facts = hashlib.sha256()
    for row in q(engine, "SELECT id, enterprise_id, metric_id, period, value_num, value_text, "
                         "batch_id, is_current FROM fact ORDER BY id"):
        facts.update(repr(tuple(row)).encode())
    return ent.hexdigest(), facts.hexdigest()


def test_same_seed_same_data_other_seed_other_data(db_factory: Any) -> None:
    a, b, c = (db_factory.engine(seeded=False) for _ in range(3))
    initialise(a, demo=300, seed=11)
    initialise(b, demo=300, seed=11)
    initialise(c, demo=300, seed=12)
    assert checksums(a) == checksums(b)
    ca = checksums(c)
    assert ca[0] != checksums(a)[0] and ca[1] != checksums(a)[1]


FACT_INDEXES = {"uq_fact_current", "ix_fact_batch", "ix_fact_metric_period", "ix_fact_superseded"}
FACT_FKS = {"fk_fact_enterprise_id_enterprise", "fk_fact_metric_id_metric",
            "fk_fact_batch_id_import_batch", "fk_fact_superseded_by_import_batch"}


def test_fact_indexes_and_keys_are_back_after_the_bulk_load(demo: Engine) -> None:
    insp = inspect(demo)
    indexes = {ix["name"]: ix for ix in insp.get_indexes("fact")}
    assert set(indexes) >= FACT_INDEXES
    assert indexes["uq_fact_current"]["unique"]
    assert indexes["uq_fact_current"]["column_names"] == ["enterprise_id", "metric_id", "period"]
    if demo.dialect.name == "postgresql":  # SQLite keeps its foreign keys during the load
        assert {fk["name"] for fk in insp.get_foreign_keys("fact")} == FACT_FKS
    with demo.connect() as conn, pytest.raises(IntegrityError):  # the unique index works
        conn.execute(text("INSERT INTO fact (enterprise_id, metric_id, period, value_num, "
                          "batch_id, is_current) SELECT enterprise_id, metric_id, period, "
                          "value_num, batch_id, is_current FROM fact WHERE id = 1"))


def test_a_second_demo_on_a_database_with_data_is_refused(demo: Engine) -> None:
    with pytest.raises(Conflict):
        initialise(demo, demo=10, seed=1)
    assert q(demo, "SELECT count(*) FROM enterprise")[0][0] == N


class _BreaksAtIndexRebuild:
    """A console file that fails when the generator announces the index rebuild — after every
    enterprise and fact has been written in the open transaction."""

    def write(self, s: str) -> int:
        if "重建索引" in s:
            raise OSError("disk full (test)")
        return len(s)

    def flush(self) -> None:
        pass


def test_a_failed_demo_leaves_nothing_behind(db_factory: Any) -> None:
    engine = db_factory.engine(seeded=False)
    console = Console(file=_BreaksAtIndexRebuild(), force_terminal=False)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="disk full"):
        initialise(engine, demo=200, seed=5, console=console)
    for table in ("enterprise", "fact", "import_batch", "app_user", "institute", "expert",
                  "bank", "audit_event"):
        assert q(engine, f"SELECT count(*) FROM {table}")[0][0] == 0, table
    insp = inspect(engine)
    assert {ix["name"] for ix in insp.get_indexes("fact")} >= FACT_INDEXES
    if engine.dialect.name == "postgresql":
        assert {fk["name"] for fk in insp.get_foreign_keys("fact")} == FACT_FKS
    # and the database still works: a retry succeeds
    summary = initialise(engine, demo=200, seed=5)
    assert summary["enterprises"] == 200


def test_the_demo_publishes_the_county_points_list_that_pages_read(demo: Engine) -> None:
    """The points list of every demo year is scored with the county's system and published
    while the demo loads (oldest first), so 积分贷 lines, tiers and pushes have points to work
    from and an enterprise's five-year trend has five points. Only the latest year's push
    batch waits for review; the earlier years' count as sent in their year."""
    from kechuang.models.finance import FinanceNeed
    from kechuang.models.push import PushBatch
    from kechuang.models.scoring import ScoringRun

    with unit_of_work(demo) as s:
        runs = s.scalars(select(ScoringRun).order_by(ScoringRun.id)).all()
        assert [(r.system_id, r.published, r.region_code) for r in runs] == [
            ("zjg-points", True, "320582")] * 5
        years = [r.year for r in runs]
        assert years == sorted(years) and years[-1] - years[0] == 4
        leading = s.execute(select(PushBatch.period, PushBatch.status)
                            .where(PushBatch.policy_id == "leading")).all()
        assert {p: st for p, st in leading} == {
            **{y: "sent" for y in years[:-1] if (y, "sent") in leading}, years[-1]: "draft"}
        lines = s.scalar(select(func.count()).select_from(FinanceNeed).where(
            FinanceNeed.status == "open", FinanceNeed.credit_line_wan.is_not(None)))
        assert lines and lines > 0


def test_the_demo_assessed_last_year_too_so_the_workbench_shows_the_change(demo: Engine) -> None:
    """Every built-in policy runs for last year's and this year's evaluation year (oldest
    first); each run snapshots the tiers, so the director's workbench compares two years.
    Last year's draft pushes count as sent in their year; this year's wait for review."""
    from kechuang.models.policy import PolicyRun
    from kechuang.models.push import PushBatch
    from kechuang.workbench.service import dashboard

    county = Actor.command_line("320582", "/320000/320500/320582/")
    with unit_of_work(demo) as s:
        runs = s.execute(select(PolicyRun.policy_id, PolicyRun.eval_year)
                         .order_by(PolicyRun.id)).all()
        by_policy: dict[str, list[int]] = {}
        for policy, year in runs:
            by_policy.setdefault(policy, []).append(int(year))
        assert len(by_policy) >= 9
        latest = max(y for ys in by_policy.values() for y in ys)
        for policy, ys in by_policy.items():
            assert ys[0] == latest - 1 and ys[-1] == latest, policy  # the latest run is this year's
        board = dashboard(s, county, "zh")
        assert (board.tier_year, board.tier_prev_year) == (latest, latest - 1)
        assert board.tiers and all(r.change is not None for r in board.tiers)
        statuses = dict(s.execute(select(PushBatch.period, PushBatch.status)
                                  .where(PushBatch.policy_id == "tech_sme")).all())
        assert statuses == {latest - 1: "sent", latest: "draft"}
