"""Demo records of the programs capability, written when the demo county is loaded
(``demo.county_loaded``), deterministic from the seed.

- 产学研预研资金 2018–2019 reproducing the Zhangjiagang report to the cent: 88 applications
  from 29 institutes and 70 enterprises; 47 front-phase projects (pre-payments 4,433,820
  元); 44 back-phase projects (post-subsidies 3,589,180 元) on 35,891,800 元 of follow-up
  R&D; 8,023,000 元 (802.3万) disbursed in all, every payment a ledger entry.
- 揭榜挂帅 of the current year: an open challenge with bids (one from the demo enterprise
  account), a decided one with its winner and first tranche paid, and one proposed by an
  enterprise from its technology demand, waiting for the bureau.
- 赛马: three teams funded in parallel, gate 1 passed by two (tranche 2 paid), one stopped.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.models.programs import (
    ProgramApplication,
    ProgramAttachment,
    ProgramCall,
    ProgramMilestone,
)
from kechuang.programs import engine, service
from kechuang.programs import repository as repo
from kechuang.programs.schemas import CallIn, ProgramIn, builtin_types, pre_research_params

#: the Zhangjiagang report's figures (科技日报 2021-06, 预研资金 section)
APPLICATIONS, INSTITUTES, ENTERPRISES = 88, 29, 70
FRONT, BACK = 47, 44
RD_LEVERAGED = Decimal("35891800")
DISBURSED = Decimal("8023000")

#: a minimal valid PDF standing in for each demo bid's proposal document
DEMO_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
DEMO_PDF_SHA = hashlib.sha256(DEMO_PDF).hexdigest()

FIELDS = ("高端装备", "新能源", "新材料")
TOPICS = ("废旧地膜回收装备", "高精度伺服液压系统", "锂电池正极材料改性", "光伏组件回收工艺",
          "特种焊接机器人", "高分子复合管材", "氢燃料电池双极板", "智能仓储输送线",
          "碳纤维增强构件", "高效换热器", "储能变流器", "精密齿轮箱降噪")


def _utc(d: date, hour: int = 10) -> datetime:
    return datetime.combine(d, time(hour, 0), tzinfo=UTC)


def _front_contracts() -> list[Decimal]:
    """Contract amounts of the 47 front-phase projects: 40 at or above the cap's base
    (20 % × 500,000 = 100,000), six at 310,000 and one at 309,100 — pre-payments
    4,433,820 in all, so with the back phase the fund disbursed exactly 8,023,000."""
    big = [Decimal(500000 + 50000 * (i % 9)) for i in range(40)]
    return big + [Decimal(310000)] * 6 + [Decimal(309100)]


def _followups(rng: np.random.Generator) -> list[Decimal]:
    """44 follow-up R&D investments, whole tens of yuan, each at most 2,000,000 (so the
    10 % post-subsidy stays under its 200,000 cap), summing to 35,891,800."""
    raw = rng.integers(30_000, 150_000, size=BACK) * 10
    scale = int(RD_LEVERAGED) / raw.sum()
    vals = [int(v * scale) // 10 * 10 for v in raw]
    vals[-1] += int(RD_LEVERAGED) - sum(vals)
    assert all(0 < v <= 2_000_000 for v in vals), vals
    return [Decimal(v) for v in vals]


def load_demo(session: Session, *, seed: int, county_code: str, today: date) -> dict[str, int]:
    rng = np.random.default_rng([seed, 0x5052])
    actor = Actor.command_line()
    ents = repo.county_enterprises(session, county_code, 200)
    insts = repo.all_institutes(session, 100)
    if len(ents) < ENTERPRISES + 6 or len(insts) < INSTITUTES:
        return {"skipped": 1}
    demo_ent, demo_inst = repo.demo_parties(session, county_code)
    counts = _pre_research(session, actor, rng, county_code, ents, insts)
    counts.update(_challenges(session, actor, rng, county_code, today, ents, insts,
                              demo_ent, demo_inst))
    return counts


# --------------------------------------------------------------------------- pre-research
def _pre_research(session: Session, actor: Actor, rng: np.random.Generator, county: str,
                  ents: list[tuple[int, str, str]], insts: list[tuple[int, str, str]]
                  ) -> dict[str, int]:
    program = service.do_create_program(session, actor, ProgramIn(
        code="ZJG-YY-2018", title="张家港市2018年度产学研预研资金", type_code="pre_research",
        year=2018, budget=Decimal("10000000")), region_code=county)
    definition = builtin_types()["pre_research"]
    call = repo.add(session, ProgramCall(
        program_id=program.id, code="ZJG-YY-2018-01", title="2018年度产学研预研资金项目申报",
        kind="pre_research", region_code=county, year=2018, state="decided",
        visibility="public", definition=definition.model_dump(mode="json", by_alias=True),
        opens_at=_utc(date(2018, 3, 1)), closes_at=engine.deadline_utc(date(2018, 4, 30)),
        problem="", kpis=[], created_at=_utc(date(2018, 3, 1)),
        decided_at=_utc(date(2018, 6, 28)), updated_at=_utc(date(2019, 9, 30))))
    # 70 enterprises (18 of them twice) with 29 institutes: 88 applications
    ent_pick = [ents[i] for i in range(ENTERPRISES)]
    applicants = ent_pick + ent_pick[:APPLICATIONS - ENTERPRISES]
    inst_pick = [insts[i % INSTITUTES] for i in range(APPLICATIONS)]
    order = rng.permutation(APPLICATIONS)
    contracts = _front_contracts()
    followups = _followups(rng)
    params = pre_research_params()
    apps = []
    for k in range(APPLICATIONS):
        n = int(order[k])
        eid, ename, eregion = applicants[n]
        iid, iname, _ = inst_pick[n]
        front = k < FRONT
        contract = (contracts[k] if front
                    else Decimal(int(rng.integers(10, 60)) * 10000))
        topic = TOPICS[n % len(TOPICS)]
        state = "not_funded"
        followup = None
        back_year = None
        awarded = None
        if front:
            awarded = engine.front_amount(params, date(2018, 6, 28), contract)
            if k < BACK:
                followup = followups[k]
                back_year = 2019
                state = "back_funded"
                awarded += engine.back_amount(params, date(2019, 9, 20), followup)
            else:
                state = "front_only"
        apps.append(ProgramApplication(
            call_id=call.id, applicant_type="enterprise", applicant_id=eid,
            applicant_name=ename, region_code=eregion, state=state,
            title=f"{topic}研发（{iname[:12]}合作）",
            data={"title": topic, "institute_name": iname, "field": FIELDS[n % 3],
                  "contract_amount": str(contract)},
            members=[], contract_amount=contract, enterprise_id=eid, institute_id=iid,
            requested_amount=engine.front_amount(params, date(2018, 4, 1), contract),
            awarded_amount=awarded, followup_rd=followup, front_year=2018 if front else None,
            back_year=back_year, year=2018, score=Decimal(95 - k * Decimal("0.5")), rank=k + 1,
            submitted_at=_utc(date(2018, 4, 1) + timedelta(days=n % 29)),
            decided_at=_utc(date(2018, 6, 28)), created_at=_utc(date(2018, 4, 1)),
            updated_at=_utc(date(2019, 9, 20))))
    # double submissions are impossible by the unique index: the 18 second applications
    # belong to a second (2018 supplementary) call of the same program
    second = repo.add(session, ProgramCall(
        program_id=program.id, code="ZJG-YY-2018-02", title="2018年度产学研预研资金项目（第二批）",
        kind="pre_research", region_code=county, year=2018, state="decided",
        visibility="public", definition=definition.model_dump(mode="json", by_alias=True),
        opens_at=_utc(date(2018, 3, 1)), closes_at=engine.deadline_utc(date(2018, 4, 30)),
        problem="", kpis=[], created_at=_utc(date(2018, 3, 1)),
        decided_at=_utc(date(2018, 6, 28)), updated_at=_utc(date(2019, 9, 30))))
    seen: set[int] = set()
    for a in apps:
        if a.applicant_id in seen:
            a.call_id = second.id
        seen.add(a.applicant_id)
    repo.bulk_add(session, apps)
    for a in apps:
        if a.front_year:
            service.do_pay_front(session, actor, a.id, at=_utc(date(2018, 7, 16)))
        if a.back_year:
            service.do_pay_back(session, actor, a.id, at=_utc(date(2019, 10, 15)))
    return {"pre_research_applications": len(apps), "pre_research_payments": FRONT + BACK}


# --------------------------------------------------------------------------- challenges
def _challenges(session: Session, actor: Actor, rng: np.random.Generator, county: str,
                today: date, ents: list[tuple[int, str, str]],
                insts: list[tuple[int, str, str]], demo_ent: int | None,
                demo_inst: int | None) -> dict[str, int]:
    year = today.year
    jb = service.do_create_program(session, actor, ProgramIn(
        code=f"ZJG-JB-{year}", title=f"张家港市{year}年度揭榜挂帅科技攻关项目",
        type_code="challenge", year=year, budget=Decimal("5000000")), region_code=county)
    sm = service.do_create_program(session, actor, ProgramIn(
        code=f"ZJG-SM-{year}", title=f"张家港市{year}年度赛马制关键技术攻关",
        type_code="horse_race", year=year, budget=Decimal("6000000")), region_code=county)
    bidders = [(("enterprise",) + e) for e in ents[ENTERPRISES:ENTERPRISES + 6]] + \
              [(("institute",) + i) for i in insts[:4]]
    if demo_ent is not None:
        bidders = [b for b in bidders if not (b[0] == "enterprise" and b[1] == demo_ent)]
        found = repo.enterprise_name(session, demo_ent)
        if found:
            bidders.insert(0, ("enterprise", demo_ent, found[0], found[1]))
    if demo_inst is not None:
        bidders = [b for b in bidders if not (b[0] == "institute" and b[1] == demo_inst)]
        found = repo.institute_name(session, demo_inst)
        if found:
            bidders.insert(1, ("institute", demo_inst, found[0], found[1]))
    demands = repo.county_demands(session, county, 3)
    kpis = [{"name": "能量密度", "target": "≥ 300", "unit": "Wh/kg"},
            {"name": "循环寿命", "target": "≥ 3000", "unit": "次"}]

    # an open challenge, with three bids
    open_call = service.do_create_call(session, actor, jb.id, CallIn(
        code=f"ZJG-JB-{year}-01", title="高安全固态电池电解质材料攻关",
        closes_on=today + timedelta(days=45), problem=(
            "面向储能与动力电池企业，攻克高离子电导率、宽电化学窗口的固态电解质材料制备工艺，"
            "实现百公斤级中试。"), kpis=kpis, budget_cap=Decimal("1500000"),
        cofunding=Decimal("1000000")))
    service.do_call_action(session, actor, open_call.id, "open")
    _bids(session, open_call, bidders[1:4], today - timedelta(days=3), "submitted")

    # a decided challenge: the winner contracted, first tranche paid
    done = service.do_create_call(session, actor, jb.id, CallIn(
        code=f"ZJG-JB-{year}-02", title="废旧地膜高效回收与再生装备",
        closes_on=today + timedelta(days=1), problem=(
            "研制适用于南方丘陵地区的残膜回收—清洗—造粒一体化装备，回收率和杂质率达到指标。"),
        kpis=[{"name": "残膜回收率", "target": "≥ 90", "unit": "%"},
              {"name": "再生粒子杂质率", "target": "≤ 1", "unit": "%"}],
        budget_cap=Decimal("800000"), cofunding=Decimal("500000")))
    _force(done, "decided", today - timedelta(days=60))
    apps = _bids(session, done, bidders[:4], today - timedelta(days=90), "not_funded")
    winner = apps[0]
    winner.state, winner.awarded_amount, winner.rank = "contracted", Decimal("800000"), 1
    for r, a in enumerate(apps[1:], start=2):
        a.rank = r
    session.flush()
    service.do_pay_tranche(session, actor, winner.id, 1, at=_utc(today - timedelta(days=30)))

    # a challenge in expert review: closed with four bids past the formal check and sent to
    # the review package (programs.review_requested opens the round and assigns reviewers);
    # the review demo submits most reviews and the decision is the bureau's to record
    in_review = service.do_create_call(session, actor, jb.id, CallIn(
        code=f"ZJG-JB-{year}-04", title="工业园区高盐废水资源化处理技术攻关",
        closes_on=today + timedelta(days=1), problem=(
            "化工园区高含盐废水处置成本高、结晶盐难以利用；攻克分盐结晶与资源化利用工艺，"
            "实现吨水处理成本下降三成。"),
        kpis=[{"name": "吨水处理成本降幅", "target": "≥ 30", "unit": "%"},
              {"name": "结晶盐纯度", "target": "≥ 98.5", "unit": "%"}],
        budget_cap=Decimal("1000000"), cofunding=Decimal("600000")))
    _force(in_review, "closed", today - timedelta(days=5), decided=False)
    _bids(session, in_review, bidders[:4], today - timedelta(days=12), "checked")
    session.flush()
    service.do_call_action(session, actor, in_review.id, "request_review")

    # 企业出题 waiting for the bureau
    proposed = 0
    if demands:
        d = demands[0]
        found = repo.enterprise_name(session, d.enterprise_id)
        c = service.do_create_call(session, actor, jb.id, CallIn(
            code=f"ZJG-JB-{year}-03", title=d.title[:200], closes_on=today + timedelta(days=75),
            problem=(d.description or d.title)[:5000],
            kpis=[{"name": (d.targets or "技术指标")[:200], "target": "", "unit": ""}],
            budget_cap=Decimal("600000"), cofunding=d.budget_max or Decimal("300000")),
            proposer_enterprise_id=d.enterprise_id, demand_id=d.id, initial="proposed")
        proposed = 1 if found and c else 0

    # 赛马: three teams in parallel, gate 1 passed by two
    race = service.do_create_call(session, actor, sm.id, CallIn(
        code=f"ZJG-SM-{year}-01", title="高端数控机床主轴关键部件赛马攻关",
        closes_on=today + timedelta(days=1), problem=(
            "主轴温升与回转精度是制约本地机床整机性能的瓶颈；三支团队并行攻关，"
            "按关口择优继续支持。"),
        kpis=[{"name": "主轴径向跳动", "target": "≤ 1", "unit": "μm"},
              {"name": "连续运行温升", "target": "≤ 8", "unit": "℃"}],
        budget_cap=Decimal("1200000"), cofunding=Decimal("900000"), fund_count=3))
    _force(race, "decided", today - timedelta(days=150))
    race.current_gate = 1
    teams = _bids(session, race, bidders[4:8] if len(bidders) >= 8 else bidders[:4],
                  today - timedelta(days=180), "not_funded")
    for r, a in enumerate(teams, start=1):
        a.rank = r
        if r <= 3:
            a.state, a.awarded_amount = "contracted", Decimal("1200000")
            a.gate = 1 if r <= 2 else 0
            session.add(ProgramMilestone(
                application_id=a.id, gate=1, report=f"第一阶段：完成样件试制，"
                f"径向跳动 {1.4 + 0.3 * r:.1f} μm。", score=Decimal(92 - 6 * r),
                outcome="continue" if r <= 2 else "stop", created_at=_utc(today)))
    session.flush()
    for a in teams[:3]:
        service.do_pay_tranche(session, actor, a.id, 1, at=_utc(today - timedelta(days=140)))
    teams[2].state = "terminated"  # stopped at gate 1
    for a in teams[:2]:
        service.do_pay_tranche(session, actor, a.id, 2, at=_utc(today - timedelta(days=20)))
    return {"challenges": 4 + proposed, "bids": len(apps) + len(teams) + 7,
            "in_review_call": in_review.id}


def _force(call: ProgramCall, state: str, on: date, *, decided: bool = True) -> None:
    """Demo history: the call went through its steps in the past (the workflow itself is
    exercised by the tests and the browser journey) — decided on ``on``, or (``decided``
    false) closed then."""
    call.state = state
    if decided:
        call.opens_at = _utc(on - timedelta(days=60))
        call.closes_at = engine.deadline_utc(on - timedelta(days=20))
        call.decided_at = _utc(on)
    else:
        call.opens_at = _utc(on - timedelta(days=45))
        call.closes_at = engine.deadline_utc(on)


def _bids(session: Session, call: ProgramCall, bidders: list[Any], on: date, state: str
          ) -> list[ProgramApplication]:
    out = []
    for i, (kind, oid, name, region) in enumerate(bidders):
        out.append(ProgramApplication(
            call_id=call.id, applicant_type=kind, applicant_id=oid, applicant_name=name,
            region_code=region, state=state, title=f"{call.title}揭榜方案（{name}）"[:200],
            data={"plan": "技术路线、进度安排与团队分工见附件。"},
            members=([] if i % 2 else [
                {"org_type": "applicant", "name": name, "role": "lead"},
                {"org_type": "institute", "org_id": None, "name": "江苏科技大学",
                 "role": "member"}]),
            requested_amount=call.budget_cap, year=on.year,
            enterprise_id=oid if kind == "enterprise" else None,
            institute_id=oid if kind == "institute" else None,
            submitted_at=_utc(on), created_at=_utc(on), updated_at=_utc(on)))
    repo.bulk_add(session, out)
    repo.bulk_add(session, [ProgramAttachment(
        application_id=a.id, field="proposal", filename="揭榜方案书.pdf",
        content_type="application/pdf", size=len(DEMO_PDF), sha256=DEMO_PDF_SHA,
        content=DEMO_PDF, created_at=a.created_at) for a in out])
    return out
