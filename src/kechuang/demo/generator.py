"""The deterministic demo county: ``kechuang init --demo N --seed S``.

Builds N enterprises in the towns and parks of ``settings.demo_region_code`` with five years
of facts, attributes that agree with the derived enterprise columns, monthly energy data for
manufacturers above designated size, institutes, experts, banks and one account per role.

Why it looks like this:
- *Deterministic.* Chunk ``k`` draws from ``default_rng([seed, k])`` with a fixed chunk size,
  so the same seed gives byte-identical rows whatever the machine; timestamps derive from
  the reporting years, not from the clock (only "today" — the current year — matters).
- *Fast and flat in memory.* Each chunk of 50,000 enterprises is drawn as NumPy arrays and
  written straight through the DBAPI (``executemany`` on SQLite, ``COPY`` on PostgreSQL); no
  ORM object per enterprise, no Decimal per value.
- *One transaction.* Enterprises, facts, batches, parties and accounts are written on one
  connection and committed once, so a failed or killed init leaves nothing behind.
- *Provenance like a real import.* Facts belong to ``ImportBatch`` rows, one per (source
  department, year), the department being the metric's first source in the catalogue.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.demo import model
from kechuang.demo.accounts import PASSWORD, create_accounts, create_parties
from kechuang.demo.loader import Block, NumBlock, TextBlock, Writer, make_writer
from kechuang.demo.names import SUFFIX_JSC, SUFFIX_LTD, TRADE_CHARS
from kechuang.kit import audit, events
from kechuang.kit.errors import InvalidInput
from kechuang.kit.uscc import ALPHABET, make_uscc
from kechuang.matching.demo import load_demo as load_matching_demo
from kechuang.models import ATTR_PERIOD, ImportBatch, Industry, Metric, Region
from kechuang.registry.catalogue import departments_by_code, metrics_by_code

CHUNK = 50_000

#: yearly metrics by reporting population (see docs/demo.md)
ALL_YEARLY = ("employees", "revenue", "tax_paid", "total_assets", "total_liabilities",
              "net_profit", "rd_expense")
RD_YEARLY = ("rd_expense_domestic", "tech_staff", "rd_staff", "phd_staff", "invention_patents",
             "class1_ip", "class2_ip", "invention_applications")
INDUSTRIAL_YEARLY = ("industrial_output", "main_business_revenue", "total_costs")
HTE_YEARLY = ("total_income", "non_taxable_income", "high_tech_revenue")
QUAL_YEARLY = ("transformations",)  # HTEs and tech SMEs, zero included
SPARSE_YEARLY = ("pct_applications", "standards_led", "awards_national", "awards_provincial",
                 "equity_financing", "tech_contract_value", "transformations")
MONTHLY = ("output_month", "energy_tce", "co2_t")
ATTRIBUTES = ("name", "founded_on", "industry_code", "region_code", "hte_cert_no",
              "hte_cert_expires_on", "tech_sme_registered_year", "srdi_level",
              "rd_institution_level", "in_key_tech_field", "seriously_dishonest",
              "abnormal_operation", "major_incident_last_year")

SRDI = np.array([None, "province", "national_little_giant"], dtype=object)
RD_INST = np.array([None, "city", "province", "national"], dtype=object)


def _department(code: str) -> str:
    return metrics_by_code()[code].sources[0]


def _short_name(county_name: str) -> str:
    for suffix in ("自治县", "市", "县", "区", "旗"):
        if county_name.endswith(suffix) and len(county_name) > len(suffix) + 1:
            return county_name[: -len(suffix)]
    return county_name


def _region_weights(names: list[str], levels: list[str]) -> np.ndarray:
    w = []
    for name, level in zip(names, levels, strict=True):
        if "开发区" in name or "高新" in name:
            w.append(4.0)
        elif "保税" in name or "工业园" in name:
            w.append(2.0)
        elif "农业" in name or "旅游" in name or "度假" in name:
            w.append(0.3)
        elif level == "park":
            w.append(1.2)
        elif name.endswith("街道"):
            w.append(1.5)
        else:
            w.append(1.0)
    arr = np.array(w)
    seat = [i for i, n in enumerate(names) if "杨舍" in n]  # 张家港's county seat
    arr[seat] = 4.0
    return arr / arr.sum()


class _Batches:
    """One ImportBatch per (department, year), created up front and counted as facts go in."""

    def __init__(self, session: Session, *, seed: int, n: int, years: list[int], county: str,
                 created: dict[int, datetime]) -> None:
        self.session = session
        self.ids: dict[tuple[str, int], int] = {}
        self.facts: Counter[int] = Counter()
        self.rows: Counter[int] = Counter()  # distinct enterprises per batch
        self.periods: dict[int, set[int]] = {}  # periods each batch holds
        self.empty = 0
        depts = departments_by_code()
        for code in sorted({_department(c) for c in
                            ALL_YEARLY + RD_YEARLY + INDUSTRIAL_YEARLY + HTE_YEARLY
                            + SPARSE_YEARLY + MONTHLY + ATTRIBUTES}):
            for year in years:
                digest = hashlib.sha256(f"demo|{seed}|{n}|{code}|{year}".encode()).hexdigest()
                batch = ImportBatch(
                    template="demo", layout="demo", department_code=code,
                    filename=f"演示数据-{depts[code].name_zh}-{year}.csv", content_hash=digest,
                    status="committed", region_code=county, created_at=created[year],
                )
                session.add(batch)
                session.flush()
                self.ids[(code, year)] = batch.id

    def count(self, blocks: list[Block]) -> None:
        """Facts and distinct enterprises per batch (blocks of one chunk)."""
        by_batch: dict[int, list[np.ndarray]] = {}
        for b in blocks:
            self.facts[b.batch_id] += len(b.ids)
            self.periods.setdefault(b.batch_id, set()).add(int(b.period))
            by_batch.setdefault(b.batch_id, []).append(b.ids)
        for bid, parts in by_batch.items():
            self.rows[bid] += len(np.unique(np.concatenate(parts)))

    def id(self, metric: str, year: int) -> int:
        return self.ids[(_department(metric), year)]


def generate_demo(engine: Engine, *, n: int, seed: int, console: Console,
                  today: date | None = None) -> dict[str, Any]:
    """Build the demo county in one transaction; return counts and the demo accounts."""
    if n < 1 or n > 10_000_000:
        raise InvalidInput("演示企业数须在 1 到 10,000,000 之间", "--demo must be 1..10,000,000")
    today = today or date.today()
    latest = today.year - 1
    years = list(range(latest - model.YEARS + 1, latest + 1))
    county_code = get_settings().demo_region_code

    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        dbapi: Any = conn.connection.driver_connection
        saved_isolation = None
        if sqlite:
            saved_isolation = dbapi.isolation_level
            dbapi.isolation_level = None  # we issue BEGIN/COMMIT ourselves (DDL inside too)
            _sqlite_bulk_pragmas(dbapi, on=True)
        trans = conn.begin()  # the session below joins this one transaction
        try:
            if sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            session = Session(bind=conn, autoflush=False, expire_on_commit=False,
                              join_transaction_mode="rollback_only")
            summary = _generate(conn, session, n=n, seed=seed, console=console, today=today,
                                years=years, county_code=county_code)
            session.flush()
            session.close()
            trans.commit()
        except BaseException:
            trans.rollback()
            raise
        finally:
            if sqlite:
                _sqlite_bulk_pragmas(dbapi, on=False)
                dbapi.isolation_level = saved_isolation
    if not sqlite:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c2:
            c2.exec_driver_sql("ANALYZE enterprise")
            c2.exec_driver_sql("ANALYZE fact")
    return summary


def _sqlite_bulk_pragmas(dbapi: Any, *, on: bool) -> None:
    """Bulk-load settings, set outside any transaction.

    The rollback journal (instead of WAL) writes each new page once: pages appended to empty
    tables need no journal entry, and a failed load still rolls back. Sorting for the index
    rebuild spills to temporary *files* (the connection default keeps them in memory, which
    at a million enterprises would cost several GB)."""
    if on:
        with contextlib.suppress(Exception):  # another connection holds the file: stay in WAL
            dbapi.execute("PRAGMA journal_mode=DELETE")
        dbapi.execute("PRAGMA synchronous=OFF")
        dbapi.execute("PRAGMA cache_size=-524288")
        dbapi.execute("PRAGMA temp_store=FILE")
        dbapi.execute("PRAGMA threads=2")
    else:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536",
                       "temp_store=MEMORY", "threads=0"):
            with contextlib.suppress(Exception):  # the connection stays usable regardless
                dbapi.execute(f"PRAGMA {pragma}")


def _generate(conn: Any, session: Session, *, n: int, seed: int, console: Console, today: date,
              years: list[int], county_code: str) -> dict[str, Any]:
    county = session.get(Region, county_code)
    if county is None:
        raise InvalidInput(f"演示区县代码不存在：{county_code}", f"Unknown region {county_code}")
    subs: list[tuple[str, str, str]] = [tuple(r) for r in session.execute(  # type: ignore[misc]
        select(Region.code, Region.name, Region.level)
        .where(Region.parent_code == county_code, Region.level.in_(["town", "park"]))
        .order_by(Region.code)
    )]
    if not subs:
        subs = [(county.code, county.name, "county")]
    region_codes = np.array([s[0] for s in subs])
    region_prob = _region_weights([s[1] for s in subs], [s[2] for s in subs])
    metric_ids = dict(session.execute(select(Metric.code, Metric.id)).all())
    section_of = dict(session.execute(
        select(Industry.code, Industry.section).where(Industry.level == 4)).all())
    tbl = model.industry_table(section_of)
    prefix = _short_name(county.name)
    province = county_code[:2]

    # the batches' "received" timestamps: 30 April after each reporting year, never in the future
    cap = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=1)
    created = {y: min(datetime(y + 1, 4, 30, 2, 0, tzinfo=UTC), cap) for y in years}
    batches = _Batches(session, seed=seed, n=n, years=years, county=county_code, created=created)
    ent_batch = batches.id("name", years[-1])
    ent_created = created[years[-1]]

    writer = make_writer(conn)
    writer.begin_bulk()
    state = _State(seed=seed, prefix=prefix, province=province)
    progress = Progress(TextColumn("[bold]生成演示企业 demo enterprises"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                        transient=False)
    counters: Counter[str] = Counter()
    best: tuple[int, int, int] = (-1, -1, 0)  # (is HTE, latest revenue, id): the showcase
    with progress:
        task = progress.add_task("demo", total=n)
        for k, start in enumerate(range(0, n, CHUNK)):
            m = min(CHUNK, n - start)
            rng = np.random.default_rng([seed, k])
            ch = model.draw_chunk(rng, m, tbl, region_prob, years[0], np.datetime64(today, "D"))
            ids = np.arange(start + 1, start + m + 1, dtype=np.int64)
            rows, attrs = _enterprise_rows(rng, ch, ids, tbl, region_codes, state, years,
                                           ent_batch, ent_created)
            writer.enterprises(rows)
            blocks = _fact_blocks(ch, ids, attrs, metric_ids, batches, years)
            writer.facts(blocks)
            batches.count(blocks)
            rev = ch.money["revenue"][:, -1]
            i = int(np.lexsort((-ids, rev, ch.hte))[-1])
            best = max(best, (int(ch.hte[i]), int(rev[i]), -int(ids[i])))
            counters["hte"] += int(ch.hte.sum())
            counters["tech_sme"] += int(ch.tech_sme.sum())
            counters["srdi_province"] += int((ch.srdi == 1).sum())
            counters["little_giants"] += int((ch.srdi == 2).sum())
            counters["flagged"] += int((ch.dishonest | ch.abnormal).sum())
            counters["incidents"] += int(ch.incident.sum())
            progress.advance(task, m)
    console.print("重建索引 rebuilding fact indexes …")
    writer.end_bulk()
    _finish_batches(session, batches, ent_batch, n)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('enterprise', 'id'), "
            "(SELECT max(id) FROM enterprise))")
    parties = create_parties(session, county_code=county_code, prefix=prefix, seed=seed,
                             region_codes=[str(region_codes[i])
                                           for i in np.argsort(-region_prob, kind="stable")])
    accounts = create_accounts(session, county_code=county_code, parties=parties,
                               towns=[(s[0], s[1]) for s in subs if s[2] == "town"],
                               enterprise_id=-best[2])
    console.print("技术需求、科技成果、科技特派员 matching registries …")
    matching = load_matching_demo(session, seed=seed, county_code=county_code, today=today)
    # the capabilities built on the county (programs, ledger, review, finance, monitoring…)
    # add their demo records in their own subscribers, inside this same transaction
    capabilities: dict[str, Any] = {}
    events.emit("demo.county_loaded", session=session, seed=seed, county_code=county_code,
                today=today, years=list(years), summary=capabilities)
    facts = sum(batches.facts.values())
    audit.record(session, Actor.command_line(), "demo.generate", "region", county_code,
                 region_code=county_code,
                 after={"seed": seed, "enterprises": n, "facts": facts, **counters})
    return {
        "seed": seed,
        "years": years,
        "enterprises": n,
        "facts": int(facts),
        "batches": len(batches.ids) - batches.empty,
        **dict(sorted(counters.items())),
        "institutes": len(parties["institutes"]),
        "experts": len(parties["experts"]),
        "banks": len(parties["banks"]),
        "matching": matching,
        **capabilities,
        "password": PASSWORD,
        "accounts": accounts,
    }


class _State:
    """What carries across chunks: names taken, certificate serials per issue year, the
    credit-code permutation."""

    MOD = 31 ** 9

    def __init__(self, *, seed: int, prefix: str, province: str) -> None:
        self.names: set[str] = set()
        self.serial: Counter[int] = Counter()
        self.prefix = prefix
        self.province = province
        r = np.random.default_rng([seed, 1 << 30])
        mult = int(r.integers(10**9, 10**12))
        while mult % 31 == 0:
            mult += 1
        self.mult = mult
        self.offset = int(r.integers(0, self.MOD))


def _org_codes(state: _State, ids: np.ndarray) -> list[str]:
    """Nine distinct characters per enterprise: an affine permutation of the serial number
    modulo 31^9, so codes never repeat."""
    x = [(int(i) * state.mult + state.offset) % state.MOD for i in ids.tolist()]
    out = []
    for v in x:
        chars = []
        for _ in range(9):
            v, r = divmod(v, 31)
            chars.append(ALPHABET[r])
        out.append("".join(chars))
    return out


def _names(rng: np.random.Generator, ch: model.Chunk, tbl: model.IndustryTable,
           state: _State) -> list[str]:
    tc = TRADE_CHARS
    a = rng.integers(0, len(tc), (ch.m, 3))
    wpick = rng.integers(0, 6, ch.m)
    out = []
    for i in range(ch.m):
        words = tbl.words[ch.cls[i]]
        word = words[wpick[i] % len(words)]
        suffix = SUFFIX_JSC if ch.jsc[i] else SUFFIX_LTD
        trade = tc[a[i, 0]] + tc[a[i, 1]]
        if a[i, 0] == a[i, 1]:
            trade = tc[a[i, 0]] + tc[a[i, 2]]
        name = f"{state.prefix}{trade}{word}{suffix}"
        tries = 0
        while name in state.names:
            tries += 1
            extra = "".join(tc[j] for j in rng.integers(0, len(tc), 1 + tries // 20))
            name = f"{state.prefix}{trade}{extra}{word}{suffix}"
        state.names.add(name)
        out.append(name)
    return out


def _enterprise_rows(rng: np.random.Generator, ch: model.Chunk, ids: np.ndarray,
                     tbl: model.IndustryTable, region_codes: np.ndarray, state: _State,
                     years: list[int], batch_id: int, created: datetime
                     ) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    names = _names(rng, ch, tbl, state)
    county = str(region_codes[0])[:6]
    usccs = [make_uscc(f"91{county}{org[:9]}") for org in _org_codes(state, ids)]
    founded = ch.founded.astype(str).tolist()
    regions = region_codes[ch.region_idx].tolist()
    industries = tbl.codes[ch.cls].tolist()
    sizes = model.SIZE_NAMES[ch.size].tolist()

    # HTE certificates: GR + issue year + province + serial, valid three years from issue
    cert_no: list[str | None] = [None] * ch.m
    expires: list[str | None] = [None] * ch.m
    for i in np.flatnonzero(ch.hte).tolist():
        y = int(ch.hte_issue_year[i])
        state.serial[y] += 1 + int(ch.hte_issue_day[i] % 3)
        cert_no[i] = f"GR{y}{state.province}{state.serial[y] + 100:06d}"
        issued = date(y, 11, 20) + timedelta(days=int(ch.hte_issue_day[i]))
        expires[i] = (date(y + 3, issued.month, issued.day) - timedelta(days=1)).isoformat()
    sme_year = np.where(ch.tech_sme, ch.tech_sme_year, 0).tolist()
    key = ch.key_field.tolist()
    srdi = SRDI[ch.srdi].tolist()
    inst = RD_INST[ch.rd_inst].tolist()
    dis, abn, inc = ch.dishonest.tolist(), ch.abnormal.tolist(), ch.incident.tolist()
    rows = []
    for i, eid in enumerate(ids.tolist()):
        rows.append((
            eid, usccs[i], names[i], regions[i], industries[i], founded[i], sizes[i],
            cert_no[i], expires[i], sme_year[i] or None, srdi[i], inst[i],
            None if key[i] < 0 else bool(key[i]), dis[i], abn[i], inc[i], batch_id, created,
        ))
    attrs = {"name": names, "founded_on": founded, "industry_code": industries,
             "region_code": regions, "hte_cert_no": cert_no, "hte_cert_expires_on": expires,
             "srdi_level": srdi, "rd_institution_level": inst}
    return rows, attrs


def _fact_blocks(ch: model.Chunk, ids: np.ndarray, attrs: dict[str, Any],
                 metric_ids: dict[str, int], batches: _Batches, years: list[int]) -> list[Block]:
    blocks: list[Block] = []
    latest = years[-1]

    def yearly(codes: tuple[str, ...], population: np.ndarray, nonzero: bool = False) -> None:
        for code in codes:
            values = ch.money.get(code)
            decimals = 2
            if values is None:
                values, decimals = ch.counts[code], 0
            for t, year in enumerate(years):
                mask = population & ch.present[:, t]
                if nonzero:
                    mask &= values[:, t] != 0
                sel = np.flatnonzero(mask)
                blocks.append(NumBlock(metric_ids[code], year, batches.id(code, year), ids[sel],
                                       values[sel, t], decimals))

    everyone = np.ones(ch.m, bool)
    yearly(ALL_YEARLY, everyone)
    yearly(RD_YEARLY, ch.rd_active)
    yearly(INDUSTRIAL_YEARLY, ch.large_industrial)
    yearly(HTE_YEARLY, ch.hte)
    qual = ch.hte | ch.tech_sme
    yearly(QUAL_YEARLY, qual)
    sparse = tuple(c for c in SPARSE_YEARLY if c not in QUAL_YEARLY)
    yearly(sparse, everyone, nonzero=True)
    yearly(QUAL_YEARLY, ch.rd_active & ~qual, nonzero=True)

    sel = np.flatnonzero(ch.large_industrial)
    for code in MONTHLY:
        values = ch.monthly[code]
        for month in range(12):
            period = latest * 100 + month + 1
            blocks.append(NumBlock(metric_ids[code], period, batches.id(code, latest), ids[sel],
                                   values[sel, month], 2))

    def attr_text(code: str, mask: np.ndarray, values: list[Any]) -> None:
        sel = np.flatnonzero(mask)
        blocks.append(TextBlock(metric_ids[code], ATTR_PERIOD, batches.id(code, latest),
                                ids[sel], [values[i] for i in sel.tolist()]))

    for code in ("name", "founded_on", "industry_code", "region_code"):
        attr_text(code, everyone, attrs[code])
    attr_text("hte_cert_no", ch.hte, attrs["hte_cert_no"])
    attr_text("hte_cert_expires_on", ch.hte, attrs["hte_cert_expires_on"])
    attr_text("srdi_level", ch.srdi > 0, attrs["srdi_level"])
    attr_text("rd_institution_level", ch.rd_inst > 0, attrs["rd_institution_level"])
    attr_text("in_key_tech_field", ch.key_field >= 0,
              ["true" if k > 0 else "false" for k in ch.key_field.tolist()])
    for code, flags in (("seriously_dishonest", ch.dishonest), ("abnormal_operation", ch.abnormal),
                        ("major_incident_last_year", ch.incident)):
        attr_text(code, flags, ["true"] * ch.m)
    sel = np.flatnonzero(ch.tech_sme)
    blocks.append(NumBlock(metric_ids["tech_sme_registered_year"], ATTR_PERIOD,
                           batches.id("tech_sme_registered_year", latest), ids[sel],
                           ch.tech_sme_year[sel].astype(np.int64), 0))
    return blocks


def _finish_batches(session: Session, batches: _Batches, ent_batch: int, n: int) -> None:
    """Write each batch's counts; drop batches that received no fact (tiny demos)."""
    empty = [bid for bid in batches.ids.values() if batches.facts[bid] == 0]
    if empty:
        session.execute(delete(ImportBatch).where(ImportBatch.id.in_(empty)))
    batches.empty = len(empty)
    rows = batches.rows
    for bid in batches.ids.values():
        if bid in empty:
            continue
        session.execute(update(ImportBatch).where(ImportBatch.id == bid).values(
            rows_total=rows[bid], rows_imported=rows[bid],
            facts_new=batches.facts[bid], enterprises_created=n if bid == ent_batch else 0,
            periods=sorted(batches.periods.get(bid, ()))))


__all__ = ["CHUNK", "PASSWORD", "Writer", "generate_demo"]
