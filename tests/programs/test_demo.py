"""The demo county's programs: the pre-research fund reproduces the Zhangjiagang report to
the cent (and the ledger agrees), and the challenge pages have open and decided items."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from kechuang.auth.actor import Actor
from kechuang.bootstrap import initialise
from kechuang.db import unit_of_work
from kechuang.ledger import service as ledger
from kechuang.programs import service

# the module-scoped fixtures are built once: one worker runs the module (-n 2 --dist loadgroup)
pytestmark = pytest.mark.xdist_group("programs-test_demo")


@pytest.fixture(scope="module")
def demo(db_factory) -> Engine:  # type: ignore[no-untyped-def]
    engine = db_factory.engine(seeded=False)
    initialise(engine, demo=300, seed=20240601)
    return engine


def test_pre_research_statistics_reproduce_the_report(demo):
    with unit_of_work(demo) as s:
        rows = {r.year: r for r in service.pre_research_stats(s, Actor.command_line())}
    y18, y19, total = rows[2018], rows[2019], rows[None]
    assert (y18.applications, y18.institutes, y18.enterprises,
            y18.front_approved) == (88, 29, 70, 47)
    assert y19.back_approved == 44
    assert total.disbursed == Decimal("8023000")  # 802.3万
    assert total.rd_leveraged == Decimal("35891800")  # 3,589.18万
    assert (total.applications, total.front_approved, total.back_approved) == (88, 47, 44)


def test_every_demo_payment_is_a_ledger_entry(demo):
    with unit_of_work(demo) as s:
        cli = Actor.command_line()
        program = service.program_by_code(s, "ZJG-YY-2018")
        spent = program.budget - ledger.remaining(s, program.budget_key)
        assert spent == Decimal("8023000")
        pays = service.payments(s, cli, limit=10_000)
        fund = [p for p in pays if p.decision_ref.startswith("program:ZJG-YY-2018")]
        assert len(fund) == 47 + 44
        assert {p.kind for p in fund} == {"pre_payment", "post_subsidy"}
        assert all(p.amount <= (100000 if p.kind == "pre_payment" else 200000) for p in fund)


def test_demo_challenges_fill_every_page(demo):
    from kechuang.app import create_app

    client = TestClient(create_app(demo))
    public = client.get("/api/v1/programs/challenges").json()
    assert len(public["open"]) == 1 and len(public["winners"]) == 3  # 1 challenge + 2 in the race
    page = client.get("/programs/pre-research")
    assert "8,023,000" in page.text and "35,891,800" in page.text
    with unit_of_work(demo) as s:
        calls = {c.code: c for c in service.calls(s, Actor.command_line())}
        states = {code: c.state for code, c in calls.items()}
    year = next(c.year for c in calls.values() if c.kind == "horse_race")
    assert states[f"ZJG-JB-{year}-03"] == "proposed"
    race = calls[f"ZJG-SM-{year}-01"]
    assert race.current_gate == 1 and race.state == "decided"


def test_the_demo_challenge_in_review_is_decided_by_the_bureau_and_funds_the_winner(
        db_factory) -> None:  # type: ignore[no-untyped-def]
    """Programs' demo sends a closed challenge to expert review, the review demo submits most
    reviews; the bureau's "record the decision" hands the ranking back to that very call."""
    from sqlalchemy import select

    from kechuang.models.programs import ProgramApplication, ProgramCall
    from kechuang.models.review import ReviewRound
    from kechuang.review import service as review

    engine = db_factory.engine(seeded=False)
    initialise(engine, demo=300, seed=20240601)
    with unit_of_work(engine) as s:
        r = s.scalar(select(ReviewRound))
        call = s.get(ProgramCall, r.call_id)
        assert call is not None and call.state == "review" and r.status == "assigned"
        county = Actor(username="admin", role="bureau_admin", region_code=call.region_code,
                       region_path="/320000/320500/320582/")
        review.do_record_decision(s, county, r.id)
    with unit_of_work(engine) as s:
        call = s.get(ProgramCall, call.id)
        assert call.state == "decided"
        states = sorted(a.state for a in s.scalars(select(ProgramApplication).where(
            ProgramApplication.call_id == call.id)))
        assert states.count("funded") == 1 and states.count("not_funded") == 3
