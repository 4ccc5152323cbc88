"""The pure program engine: every YAML case (workflows, pre-research amounts), forms,
money parsing, tranche splits, deadlines and attachment sniffing."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from kechuang.kit import rules as rulefiles
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, KechuangError
from kechuang.programs import engine
from kechuang.programs.schemas import (
    PRE_RESEARCH_CASES,
    TYPES_DIR,
    AttachmentSpec,
    PreResearchCases,
    ProgramTypeDef,
    WorkflowCases,
    builtin_types,
    pre_research_params,
)

WORKFLOW_CASES = rulefiles.load(TYPES_DIR / "workflow.cases.yaml", WorkflowCases).cases
MONEY_CASES = rulefiles.load(PRE_RESEARCH_CASES, PreResearchCases).cases


@pytest.mark.parametrize("case", WORKFLOW_CASES, ids=lambda c: c.name)
def test_workflow_case(case):
    wf = getattr(builtin_types()[case.type], f"{case.machine}_workflow")
    if case.error is None:
        assert engine.check_transition(wf, case.state, case.action, case.role,
                                       case.guards) == case.to
    else:
        with pytest.raises(KechuangError) as exc:
            engine.check_transition(wf, case.state, case.action, case.role, case.guards)
        assert case.error in exc.value.message_zh


@pytest.mark.parametrize("case", MONEY_CASES, ids=lambda c: c.name)
def test_pre_research_case(case):
    params = pre_research_params()
    if case.contract is not None:
        assert engine.front_amount(params, case.day, case.contract) == case.front
    if case.followup_rd is not None:
        assert engine.back_amount(params, case.day, case.followup_rd) == case.back


def test_builtin_types_carry_source_and_sum_tranches_to_one():
    types = builtin_types()
    assert set(types) >= {"challenge", "horse_race", "pre_research"}
    for t in types.values():
        assert len(t.source) > 10 and t.valid_from
        assert sum(t.tranches) == 1
    assert types["horse_race"].gates == 2 and types["horse_race"].continue_counts == [2, 1]


def test_refusal_names_the_state_and_the_allowed_moves_in_both_languages():
    wf = builtin_types()["challenge"].call_workflow
    with pytest.raises(Conflict) as exc:
        engine.check_transition(wf, "open", "request_review", "bureau_admin", {})
    assert "揭榜中" in exc.value.message_zh and "截止揭榜" in exc.value.message_zh
    assert "Open for bids" in exc.value.message_en and "Close" in exc.value.message_en
    with pytest.raises(Forbidden):
        engine.check_transition(wf, "draft", "open", "institute", {"before_deadline": True})


def test_an_unevaluated_guard_counts_as_failed():
    wf = builtin_types()["challenge"].call_workflow
    with pytest.raises(Conflict, match="截止时间已过"):
        engine.check_transition(wf, "draft", "open", "bureau_admin", {})


def test_a_type_whose_tranches_do_not_add_up_is_refused_with_its_line():
    text = (TYPES_DIR / "challenge.yaml").read_text(encoding="utf-8").replace(
        'tranches: ["0.3", "0.4", "0.3"]', 'tranches: ["0.3", "0.4", "0.4"]')
    with pytest.raises(rulefiles.RuleFileError, match="之和应为 1"):
        rulefiles.loads(text, ProgramTypeDef, "challenge.yaml")
    dup = (TYPES_DIR / "challenge.yaml").read_text(encoding="utf-8") + "kind: grant\n"
    with pytest.raises(rulefiles.RuleFileError, match="键重复"):
        rulefiles.loads(dup, ProgramTypeDef, "challenge.yaml")


@pytest.mark.parametrize("text, message", [
    ("-5", "不能为负数"), ("abc", "应为数字金额"), ("12.345", "最多两位小数"), ("NaN", "应为数字"),
    ("", "不能为空"), ("1e15", "过大"),
])
def test_bad_money_names_the_field(text, message):
    with pytest.raises(InvalidInput) as exc:
        engine.parse_money(text, "金额（amount）")
    assert "金额（amount）" in exc.value.message_zh and message in exc.value.message_zh


def test_money_accepts_thousands_separators():
    assert engine.parse_money("1,200,000.50", "x") == Decimal("1200000.50")


def test_tranches_add_up_to_the_award_to_the_cent():
    parts = engine.tranche_amounts(Decimal("1000000.01"), [Decimal("0.3"), Decimal("0.4"),
                                                             Decimal("0.3")])
    assert parts == [Decimal("300000.00"), Decimal("400000.00"), Decimal("300000.01")]
    assert sum(parts) == Decimal("1000000.01")


def test_deadline_is_the_end_of_the_day_in_shanghai():
    closes = engine.deadline_utc(date(2025, 6, 30))
    assert closes == datetime(2025, 6, 30, 15, 59, 59, tzinfo=UTC)
    assert engine.before_deadline(closes, datetime(2025, 6, 30, 15, 59, 59, tzinfo=UTC))
    assert not engine.before_deadline(closes, datetime(2025, 6, 30, 16, 0, 0, tzinfo=UTC))


def test_survivors_are_the_best_scores_ties_to_the_earlier_bid():
    assert engine.survivors({5: Decimal(80), 3: Decimal(90), 4: Decimal(80), 6: None}, 2) == [3, 4]


def test_form_validation_names_each_field():
    form = builtin_types()["challenge"].form
    ok = engine.validate_form(form, {"title": "方案", "plan": "路线", "requested_amount": "500000",
                                     "team_size": "8", "finish_on": "2026-12-31"})
    assert ok.amount == Decimal("500000.00") and ok.values["team_size"] == "8"
    for bad, field in [({"plan": "x", "requested_amount": "1"}, "title"),
                       ({"title": "t", "plan": "x", "requested_amount": "-1"}, "requested_amount"),
                       ({"title": "t", "plan": "x", "requested_amount": "1", "team_size": "2.5"},
                        "team_size"),
                       ({"title": "t", "plan": "x", "requested_amount": "1",
                         "finish_on": "2026-02-30"}, "finish_on")]:
        with pytest.raises(InvalidInput) as exc:
            engine.validate_form(form, bad)
        assert exc.value.details["field"] == field and f"（{field}）" in exc.value.message_zh


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def test_sniffing_reads_bytes_not_names():
    assert engine.sniff(PDF) == "pdf" and engine.sniff(PNG) == "png"
    assert engine.sniff(docx_bytes()) == "docx"
    assert engine.sniff(b"MZ\x90\x00 an executable") is None
    spec = AttachmentSpec(key="proposal", zh="揭榜方案书", en="Proposal", types=["pdf", "docx"],
                          max_bytes=1000)
    checked = engine.check_attachment(spec, "方案.pdf", PDF)
    assert checked.content_type == "application/pdf" and len(checked.sha256) == 64
    with pytest.raises(InvalidInput, match="实际内容为 PNG"):
        engine.check_attachment(spec, "disguised.pdf", PNG)
    with pytest.raises(InvalidInput, match="无法识别"):
        engine.check_attachment(spec, "virus.pdf", b"MZ\x90\x00" * 10)
    with pytest.raises(InvalidInput, match="超过上限"):
        engine.check_attachment(spec, "big.pdf", PDF + b"0" * 2000)
