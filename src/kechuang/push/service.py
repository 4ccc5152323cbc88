"""Precise push: what changed for each enterprise after a run, as inbox messages.

After an eligibility run of a policy, the run's results are compared with the previous run
of the same policy over the same region scope, whole-table (pandas over the two runs'
result columns, no per-enterprise query):

- ``newly_eligible``: the verdict counts as eligible now (``eligible_verdicts`` in
  ``rules.yaml``) and did not in the previous run (or there was none);
- ``near_eligible``: a small gap by the data rule ``near_eligible`` (:func:`near_eligible`);
- ``expiring``: for the renewal policy (HTE), the certificate's expiry date lies within the
  renewal window after the run's as-of date (three-year certificates);
- ``program_open``: a call for applications has opened and the enterprise's verdict for the
  call's policy counts as eligible (:func:`do_push_program_open`, called by the programs
  capability when a call opens, or ``kechuang push program-open``).

One message per (enterprise, policy, period = evaluation year): when several kinds apply,
``expiring`` wins over ``newly_eligible`` over ``near_eligible``; the unique key and
``INSERT … ON CONFLICT DO NOTHING`` make re-runs idempotent. Muted (enterprise, policy)
pairs get nothing. Services never commit; every state change writes an audit row.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit import audit
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.kit.safe_export import neutralise_row
from kechuang.kit.xlsx import write_xlsx
from kechuang.models import PolicyRun, ScoringRun
from kechuang.models.push import PushBatch, PushMessage
from kechuang.policy import service as policy_service
from kechuang.policy.blocks import HI, LO
from kechuang.policy.engine import Frame, evaluate
from kechuang.policy.gaps import fmt, gaps_for
from kechuang.policy.loader import LoadedPolicy, builtin_policies
from kechuang.policy.runs import aligned, input_years, policy_hash, prepare_frame
from kechuang.policy.service import CHUNK_ENTERPRISES, VERDICT_LABELS, policy_inputs
from kechuang.push import repository as repo
from kechuang.push.schemas import (
    APPLY_KINDS,
    KIND_LABELS,
    BatchItemOut,
    BatchOut,
    FunnelRow,
    NearRule,
    OpenProgram,
    PushRules,
    SendBatchIn,
    rules,
)
from kechuang.tiers.schemas import rules as tier_rules

#: precedence when several kinds apply to one (enterprise, policy, period)
PRECEDENCE = ("expired", "expiring", "information", "newly_eligible", "near_eligible")
_MSG_COLUMNS = ["enterprise_id", "kind", "gap", "expires_on", "benefit"]
#: up to this many candidates are read by id; more, by whole blocks of enterprise ids
FEW_CANDIDATES = 2_000


@dataclass
class PushSummary:
    run_id: int | None
    policy_id: str
    period: int
    inserted: int
    muted: int
    counts: dict[str, int] = field(default_factory=dict)
    #: the batch the messages were written in (a draft for review), None when none was new
    batch_id: int | None = None


@cache
def _policies() -> dict[str, LoadedPolicy]:
    """The built-in policies, parsed once per process (a changed file is caught by the
    hash comparison with the run's)."""
    return builtin_policies()


def now() -> datetime:
    return datetime.now(UTC)


# -- near-eligible: the data rule, shared with the cultivation pool --------------------------

class InputFrames:
    """The policy inputs as evaluation frames, read once per as-of date and block of
    enterprise ids and shared by every run handled in one call (the runs of one batch
    cover the same enterprises, so nine policies cost one read, not nine).

    Blocks are fixed id ranges of ``CHUNK_ENTERPRISES`` ids, read as the same grid a run
    reads (:func:`kechuang.policy.service.policy_inputs`, points included) — a range scan,
    not an ``IN`` list per candidate.
    """

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self._frames: dict[tuple[date, int], tuple[Frame, np.ndarray] | None] = {}
        self._codes: pd.DataFrame | None = None

    def codes(self, ids: np.ndarray) -> pd.DataFrame:
        """(enterprise_id, uscc) of ``ids``, from one read of the codes shared by the runs."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        known = self._codes
        if known is None or not np.isin(ids, known["enterprise_id"].to_numpy()).all():
            wanted = ids if known is None else np.union1d(ids, known["enterprise_id"])
            known = self._codes = repo.enterprise_names(self.session, wanted)[
                ["enterprise_id", "uscc"]]
        return known[np.isin(known["enterprise_id"].to_numpy(), ids)]

    def covering(self, as_of: date, ids: np.ndarray) -> list[tuple[Frame, np.ndarray]]:
        """(frame, enterprise id per frame row) of every block holding some of ``ids``."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        years = input_years(as_of)
        if len(ids) <= FEW_CANDIDATES:  # a page's handful: read exactly those
            few = _framed(policy_inputs(self.session, self.actor, years,
                                        enterprise_ids=ids.tolist()), as_of)
            return [few] if few is not None else []
        out = []
        for block in np.unique(ids // CHUNK_ENTERPRISES):
            key = (as_of, int(block))
            if key not in self._frames:
                lo = int(block) * CHUNK_ENTERPRISES
                self._frames[key] = _framed(policy_inputs(
                    self.session, self.actor, years,
                    id_range=(lo, lo + CHUNK_ENTERPRISES - 1)), as_of)
            got = self._frames[key]
            if got is not None:
                out.append(got)
        return out


def _framed(data: pd.DataFrame, as_of: date) -> tuple[Frame, np.ndarray] | None:
    """An input table as (evaluation frame, enterprise id per frame row); None when empty."""
    if data.empty:
        return None
    frame, enterprise_ids, _ = prepare_frame(data, as_of)
    return frame, aligned(enterprise_ids, frame.uscc).astype(np.int64)


def near_eligible(session: Session, actor: Actor, run: PolicyRun, results: pd.DataFrame,
                  rule_set: PushRules | None = None,
                  inputs: InputFrames | None = None) -> pd.DataFrame:
    """Which of ``results`` (rows of :func:`repository.run_results`) are near-eligible,
    with their gap sentence. Columns: ``enterprise_id``, ``gap``.

    ``borderline`` verdicts (pass mark inside the score interval) are near by definition.
    An ``ineligible`` enterprise with at most ``max_failed_leaves`` failed leaves is near
    when every comparison that fails for certain is short by at most ``relative_gap`` of
    its threshold (or ``score_points`` for a points comparison). The thresholds and the
    amounts needed come from re-evaluating the policy with the run's as-of date over the
    candidates' blocks of enterprises (``inputs``, shared between runs); the stored
    verdicts stay the run's.
    """
    r = (rule_set or rules()).near_eligible
    out: list[pd.DataFrame] = []
    if results.empty:
        return pd.DataFrame(columns=["enterprise_id", "gap"])
    border = results[results["verdict"].isin(r.verdicts)]
    if not border.empty and run.pass_mark is not None:
        lo = border["score_min"].map(lambda x: fmt(float(x), "pts"))
        hi = border["score_max"].map(lambda x: fmt(float(x), "pts"))
        out.append(pd.DataFrame({
            "enterprise_id": border["enterprise_id"].to_numpy(),
            "gap": ("评价得分区间 " + lo + "–" + hi + "，合格分 " + fmt(run.pass_mark, "pts")
                    + "：专家评判项取值较高时即可达到").to_numpy()}))
    nfail = results["n_failed"].fillna(0).astype(int)
    cand = results[(results["verdict"] == "ineligible") & (nfail >= 1)
                   & (nfail <= r.max_failed_leaves)]
    lp = _policies().get(run.policy_id)
    if not cand.empty and lp is not None and policy_hash(lp) == run.policy_hash:
        ids = cand["enterprise_id"].to_numpy(dtype=np.int64)
        for frame, frame_ids in (inputs or InputFrames(session, actor)).covering(run.as_of,
                                                                                ids):
            out.append(_near_leaves(lp, frame, frame_ids, np.isin(frame_ids, ids),
                                    run.as_of, r))
    if not out:
        return pd.DataFrame(columns=["enterprise_id", "gap"])
    return pd.concat(out, ignore_index=True).drop_duplicates("enterprise_id")


def _near_leaves(lp: LoadedPolicy, frame: Frame, frame_ids: np.ndarray,
                 candidate: np.ndarray, as_of: date, r: NearRule) -> pd.DataFrame:
    """Near-eligible among the ``candidate`` rows of the frame: every comparison that fails
    for certain is within the rule's distance of its threshold (over whole columns)."""
    ev = evaluate(lp, frame, as_of)
    n = len(ev.uscc)
    near = candidate.copy()
    count = np.zeros(n, dtype=int)
    for res in ev.leaves.values():
        failed = np.asarray(res.failed, dtype=bool)
        if not failed.any():
            continue
        count += failed
        any_check = np.zeros(n, dtype=bool)
        ok = np.ones(n, dtype=bool)
        for c in res.checks:
            certain_fail = np.asarray(c.state.hi, dtype=float) == 0
            if c.check.op not in (">=", ">") or c.threshold is None:
                ok &= ~certain_fail
                continue
            value = np.asarray(c.value.hi, dtype=float)
            threshold = np.asarray(c.threshold.lo, dtype=float)
            with np.errstate(invalid="ignore"):
                if c.check.format == "pts":
                    close = threshold - value <= r.score_points
                else:
                    close = (threshold > 0) & (value >= (1 - r.relative_gap) * threshold)
            close &= np.isfinite(value) & np.isfinite(threshold)
            ok &= ~certain_fail | close
            any_check |= certain_fail
        near &= ~failed | (ok & any_check)
    near &= (count >= 1) & (count <= r.max_failed_leaves)
    rows = np.flatnonzero(near)
    # formatting only (no query): the policy's own gap sentences for the near ones.
    # Evaluation.index scans the whole uscc column per call; a dict lookup keeps the
    # formatting linear in the number of hits
    position = {str(ev.uscc[k]): int(k) for k in rows}
    setattr(ev, "index", position.__getitem__)  # noqa: B010
    gaps = ["；".join(g.text for g in gaps_for(ev, str(ev.uscc[k]))) for k in rows]
    return pd.DataFrame({"enterprise_id": frame_ids[rows], "gap": gaps})


# -- generation after a run -----------------------------------------------------------------

def _sms(prefix: str, text: pd.Series, limit: int) -> pd.Series:
    return (prefix + text).str.slice(0, limit)


def _holders(session: Session, policy_id: str, year: int, ids: np.ndarray) -> np.ndarray:
    """Which of ``ids`` already hold the qualification ``policy_id`` leads to (the tier
    rules' ``held``: an HTE certificate in force, the tech-SME register entry, an SRDI
    level) in ``year`` — they are never told they "newly qualify" for it."""
    held = [t.held for t in tier_rules().tiers if t.policy == policy_id and t.held is not None]
    if not held or not len(ids):
        return np.zeros(len(ids), dtype=bool)
    quals = repo.qualifications(session, ids)
    return held[0].holds(quals, year)


def messages_for_run(session: Session, actor: Actor, run: PolicyRun,
                     rule_set: PushRules | None = None,
                     inputs: InputFrames | None = None) -> pd.DataFrame:
    """The messages one policy run calls for (before mutes and de-duplication by the key).

    An application policy: ``newly_eligible`` and ``near_eligible``, except for enterprises
    that already hold its qualification; for the renewal policy, ``expiring`` and
    ``expired`` notices with the renewal path. A tax measure (``instrument: tax_measure``):
    one ``information`` message to every eligible enterprise with the estimated benefit."""
    rs = rule_set or rules()
    cur = repo.run_results(session, run.id, with_names=False)
    if cur.empty:
        return pd.DataFrame(columns=_MSG_COLUMNS)
    prev = repo.previous_run(session, run)
    if prev is not None:
        cur = cur.merge(repo.run_verdicts(session, prev.id), on="enterprise_id", how="left")
    else:
        cur["prev_verdict"] = None
    elig = cur["verdict"].isin(rs.eligible_verdicts)
    was = cur["prev_verdict"].isin(rs.eligible_verdicts)
    lp = _policies().get(run.policy_id)
    frames = []
    if run.policy_id == rs.renewal.policy:
        window = repo.expiring(session, run.id, run.as_of,
                               run.as_of + timedelta(days=rs.renewal.window_days))
        if not window.empty:
            frames.append(window.assign(kind="expiring", gap=None, benefit=None))
        lapsed = repo.expiring(session, run.id,
                               run.as_of - timedelta(days=rs.renewal.expired_days),
                               run.as_of - timedelta(days=1))
        if not lapsed.empty:
            frames.append(lapsed.assign(kind="expired", gap=None, benefit=None))
    if lp is not None and lp.policy.instrument == "tax_measure":
        frames.append(_information(session, run, cur[elig], lp))
    else:
        holds = _holders(session, run.policy_id, run.eval_year,
                         cur["enterprise_id"].to_numpy(dtype=np.int64))
        newly = cur.loc[elig & ~was & ~holds, ["enterprise_id"]]
        frames.append(newly.assign(kind="newly_eligible", gap=None, expires_on=None,
                                   benefit=None))
        near = near_eligible(session, actor, run, cur[~elig & ~holds], rs, inputs)
        frames.append(near.assign(kind="near_eligible", expires_on=None, benefit=None))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=_MSG_COLUMNS)
    msgs = pd.concat([f[_MSG_COLUMNS] for f in frames], ignore_index=True)
    msgs["order"] = msgs["kind"].map({k: i for i, k in enumerate(PRECEDENCE)})
    msgs = (msgs.sort_values(["enterprise_id", "order"], kind="stable")
            .drop_duplicates("enterprise_id").drop(columns="order"))
    info = cur[["enterprise_id", "verdict"]]
    codes = (inputs or InputFrames(session, actor)).codes(
        msgs["enterprise_id"].to_numpy(dtype=np.int64))
    return msgs.merge(info, on="enterprise_id", how="left").merge(
        codes, on="enterprise_id", how="left")


def _information(session: Session, run: PolicyRun, eligible: pd.DataFrame,
                 lp: LoadedPolicy) -> pd.DataFrame:
    """``information`` rows of a tax measure with the estimated benefit as text (万元, a
    range when the estimate is one)."""
    benefit = pd.Series(None, index=eligible.index, dtype=object)
    if lp.policy.benefit and not eligible.empty:
        est = policy_service.read_results(
            session, run.id, [LO + lp.policy.benefit, HI + lp.policy.benefit],
            eligible["enterprise_id"].to_numpy(dtype=np.int64))
        lo = est[LO + lp.policy.benefit].astype(float)
        hi = est[HI + lp.policy.benefit].astype(float)
        text = [None if not np.isfinite(a) else fmt(a, "wan") if not np.isfinite(b) or a == b
                else f"{fmt(a, 'wan')}–{fmt(b, 'wan')}" for a, b in zip(lo, hi, strict=True)]
        benefit = pd.Series(text, index=eligible.index, dtype=object)
    return pd.DataFrame({"enterprise_id": eligible["enterprise_id"].to_numpy(),
                         "kind": "information", "gap": None, "expires_on": None,
                         "benefit": benefit.to_numpy()})


def _compose(msgs: pd.DataFrame, run: PolicyRun, rs: PushRules) -> list[dict[str, Any]]:
    """Chinese title, body, SMS text and link for every message, column-wise."""
    name = run.policy_name
    year = str(run.eval_year)
    kind = msgs["kind"]
    verdict = msgs["verdict"].map(VERDICT_LABELS).fillna("")
    gap = msgs["gap"].fillna("").astype(str)
    expires = msgs["expires_on"].map(lambda d: d.isoformat() if isinstance(d, date) else "")
    benefit = msgs["benefit"].fillna("").astype(str)
    body = pd.Series("", index=msgs.index, dtype=object)
    sms = pd.Series("", index=msgs.index, dtype=object)
    is_new, is_near, is_exp = (kind == "newly_eligible", kind == "near_eligible",
                               kind == "expiring")
    is_lapsed, is_info = kind == "expired", kind == "information"
    body[is_new] = (f"经 {year} 年度数据测算，贵企业已符合《{name}》的条件（判定："
                    + verdict[is_new]
                    + "）。请登录平台查看各项条件及依据条款，按申报通知准备材料。")
    body[is_near] = (f"经 {year} 年度数据测算，贵企业距《{name}》的条件差距较小：" + gap[is_near]
                     + "。补齐后即可申报。")
    body[is_exp] = ("贵企业的高新技术企业证书将于 " + expires[is_exp]
                    + f" 到期（证书有效期 {rs.renewal.certificate_years} 年）。"
                    f"请在到期当年{rs.renewal.path}，以免资格中断。")
    body[is_lapsed] = ("贵企业的高新技术企业证书已于 " + expires[is_lapsed]
                       + " 到期，资格已不在有效期内（不再享受 15% 优惠税率等）。"
                       f"如需恢复，请{rs.renewal.path}。")
    with_benefit = is_info & (benefit != "")
    body[is_info] = (f"经 {year} 年度数据测算，贵企业可享受《{name}》（在年度企业所得税汇算清缴时"
                     "自行申报享受，无需向科技局申请）。")
    body[with_benefit] = body[with_benefit] + "估算可少缴企业所得税约 " + benefit[with_benefit] \
        + "（按申报数据测算，以税务部门核定为准）。"
    sms[is_new] = f"贵企业经测算符合{name}条件，请登录平台查看"
    sms[is_near] = f"贵企业距{name}条件差距较小，请登录平台查看差距"
    sms[is_exp] = "贵企业高企证书" + expires[is_exp] + "到期，请及时申请重新认定"
    sms[is_lapsed] = "贵企业高企证书已于" + expires[is_lapsed] + "到期，请及时申请重新认定"
    sms[is_info] = f"贵企业可享受{name}，汇算清缴时自行申报，详情请登录平台查看"
    title = name + "：" + kind.map(KIND_LABELS)
    link = "/enterprises/" + msgs["uscc"].astype(str)
    frame = pd.DataFrame({
        "enterprise_id": msgs["enterprise_id"].astype(int),
        "policy_id": run.policy_id, "period": run.eval_year, "kind": kind,
        "verdict": msgs["verdict"], "source": "policy", "source_run_id": run.id,
        "title": title.str.slice(0, 200), "body": body,
        "gap": msgs["gap"].where(msgs["gap"].notna() & (gap != ""), None),
        "benefit": msgs["benefit"].where(benefit != "", None),
        "sms_text": _sms(rs.sms_prefix, sms, rs.sms_max_chars),
        "link": link, "created_at": now(),
    })
    records: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict(
        "records")
    return records


def _write_batch(session: Session, actor: Actor, records: list[dict[str, Any]], *,
                 source: str, source_run_id: int | None, policy_id: str, period: int,
                 region_code: str | None, send: bool) -> tuple[PushBatch | None, int]:
    """Insert messages as one batch: a draft for review (``send`` false) or sent at once
    (they follow an explicit bureau action). No batch is kept when nothing was new."""
    batch = repo.add_batch(session, PushBatch(
        source=source, source_run_id=source_run_id, policy_id=policy_id, period=period,
        region_code=region_code, status="sent" if send else "draft", counts={},
        created_by=actor.username))
    when = now() if send else None
    for r in records:
        r.update(batch_id=batch.id, status="sent" if send else "draft", sent_at=when)
    inserted = repo.insert_messages(session, records) if records else 0
    if not inserted:
        repo.delete_batch(session, batch)
        return None, 0
    batch.counts = repo.batch_counts(session, batch.id)
    if send:
        batch.decided_at, batch.decided_by = when, actor.username
        batch.decision = {"sent": inserted, "dropped": 0, "edited": 0}
    return batch, inserted


def do_push_after_runs(session: Session, actor: Actor, run_ids: list[int],
                       rule_set: PushRules | None = None) -> list[PushSummary]:
    """Write the messages of each policy run as a draft batch for review (idempotent: a
    message already written for the same enterprise, policy and year is not written
    again), one audit row per run. Nothing reaches an inbox before :func:`do_send_batch`."""
    rs = rule_set or rules()
    out = []
    inputs = InputFrames(session, actor)
    for run_id in run_ids:
        run = policy_service.get_run(session, run_id)
        if run is None:
            raise NotFound(f"政策运行 #{run_id} 不存在")
        msgs = messages_for_run(session, actor, run, rs, inputs)
        muted = repo.mutes(session, run.policy_id)
        before = len(msgs)
        if not msgs.empty and not muted.empty:
            msgs = msgs[~msgs["enterprise_id"].isin(muted["enterprise_id"])]
        counts = {str(k): int(v) for k, v in msgs["kind"].value_counts().items()}
        batch, inserted = _write_batch(
            session, actor, _compose(msgs, run, rs) if len(msgs) else [], source="policy",
            source_run_id=run.id, policy_id=run.policy_id, period=run.eval_year,
            region_code=run.region_code, send=False)
        summary = PushSummary(run.id, run.policy_id, run.eval_year, inserted,
                              before - len(msgs), counts,
                              batch_id=batch.id if batch else None)
        audit.record(session, actor, "push.generate", "policy_run", run.id,
                     after={"policy_id": run.policy_id, "period": run.eval_year,
                            "candidates": counts, "inserted": inserted,
                            "muted": summary.muted, "draft_batch": summary.batch_id},
                     region_code=run.region_code)
        out.append(summary)
    return out


# -- after a published scoring run: the leading tier by points rank -------------------------

#: the "policy" id of messages about the leading tier (a tier of kechuang.tiers)
LEADING = "leading"


def do_push_after_scoring(session: Session, actor: Actor, run: ScoringRun,
                          rule_set: PushRules | None = None) -> PushSummary | None:
    """After a published scoring run: enterprises that entered the leading tier (list rank
    within the cut-off of ``tiers/rules.yaml``) since the previous published run of the
    same system and scope get ``newly_eligible``; those ranked within ``pool_factor`` × the
    cut-off get ``near_eligible`` with the points still missing. Period = the run's year."""
    if not run.published:
        return None
    lead = next((t.scoring for t in tier_rules().tiers if t.scoring is not None), None)
    if lead is None or (lead.system and lead.system != run.system_id):
        return None
    rs = rule_set or rules()
    cur = repo.score_rows(session, run.id)
    ranked = cur[cur["list_rank"].notna()]
    cut = lead.cutoff(int(cur["points"].notna().sum()))
    inside = ranked[ranked["list_rank"] <= cut]
    cut_points = float(inside["points"].min()) if len(inside) else float("nan")
    prev = repo.previous_scoring_run(session, run)
    before: set[int] = set()
    if prev is not None:
        old = repo.score_rows(session, prev.id)
        old_cut = lead.cutoff(int(old["points"].notna().sum()))
        before = set(old.loc[old["list_rank"] <= old_cut, "enterprise_id"].astype(int))
    newly = inside[~inside["enterprise_id"].isin(before)].assign(kind="newly_eligible")
    near = ranked[(ranked["list_rank"] > cut)
                  & (ranked["list_rank"] <= math.floor(cut * lead.pool_factor))]
    near = near.assign(kind="near_eligible")
    msgs = pd.concat([newly, near], ignore_index=True)
    muted = repo.mutes(session, LEADING)
    before_mute = len(msgs)
    if not muted.empty:
        msgs = msgs[~msgs["enterprise_id"].isin(muted["enterprise_id"])]
    rank = msgs["list_rank"].astype(int).astype(str)
    # .astype(str): an empty selection would otherwise come back as float64
    pts = msgs["points"].map(lambda x: fmt(float(x), "pts")).astype(str)
    diff = (cut_points - msgs["points"]).clip(lower=0).map(
        lambda x: fmt(float(x), "pts")).astype(str)
    is_new = msgs["kind"] == "newly_eligible"
    year = run.year
    body = pd.Series("", index=msgs.index, dtype=object)
    body[is_new] = (f"贵企业在 {year} 年度创新积分评价（{run.system_name}）中排名第 "
                    + rank[is_new] + f" 位，进入领军企业梯队（前 {cut} 位）。")
    body[~is_new] = (f"贵企业在 {year} 年度创新积分评价（{run.system_name}）中排名第 "
                     + rank[~is_new] + " 位（" + pts[~is_new] + f"），距领军企业线（第 {cut} 位，"
                     + fmt(cut_points, "pts") + "）还差约 " + diff[~is_new] + "。")
    gap = pd.Series(None, index=msgs.index, dtype=object)
    gap[~is_new] = "排名第 " + rank[~is_new] + " 位，还差约 " + diff[~is_new]
    sms = pd.Series("", index=msgs.index, dtype=object)
    sms[is_new] = f"贵企业{year}年度创新积分排名第" + rank[is_new] + "位，进入领军企业梯队"
    sms[~is_new] = (f"贵企业{year}年度创新积分排名第" + rank[~is_new] + "位，距领军企业还差约"
                    + diff[~is_new])
    frame = pd.DataFrame({
        "enterprise_id": msgs["enterprise_id"].astype(int), "policy_id": LEADING,
        "period": year, "kind": msgs["kind"], "verdict": None, "source": "scoring",
        "source_run_id": run.id, "title": "领军企业：" + msgs["kind"].map(KIND_LABELS),
        "body": body, "gap": gap, "sms_text": _sms(rs.sms_prefix, sms, rs.sms_max_chars),
        "link": "/enterprises/" + msgs["uscc"].astype(str), "created_at": now(),
    })
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    batch, inserted = _write_batch(session, actor, records, source="scoring",
                                   source_run_id=run.id, policy_id=LEADING, period=year,
                                   region_code=run.region_code, send=False)
    counts = {str(k): int(v) for k, v in msgs["kind"].value_counts().items()}
    audit.record(session, actor, "push.generate", "scoring_run", run.id,
                 after={"policy_id": LEADING, "period": year, "candidates": counts,
                        "inserted": inserted, "muted": before_mute - len(msgs),
                        "cutoff_rank": cut, "draft_batch": batch.id if batch else None},
                 region_code=run.region_code)
    return PushSummary(run.id, LEADING, year, inserted, before_mute - len(msgs), counts,
                       batch_id=batch.id if batch else None)


# -- a call for applications opens ---------------------------------------------------------

def do_push_program_open(session: Session, actor: Actor, call: OpenProgram,
                         rule_set: PushRules | None = None) -> PushSummary:
    """``program_open`` messages for a call that has just opened, to every enterprise in
    the actor's scope whose verdict for the call's policy counts as eligible
    (``eligible_verdicts``) in that policy's latest run covering the actor — "newly open
    programs that fit its profile" (spec/policies.md, Precise push). Enterprises that
    muted the policy or the call get nothing. Idempotent by the (enterprise, call, period)
    key; one audit row."""
    rs = rule_set or rules()
    if call.program_id in _policies() or call.program_id == LEADING:
        raise InvalidInput(f"项目编号 {call.program_id!r} 与政策编号相同；请用项目自己的编号",
                           f"program id {call.program_id!r} is a policy id")
    if call.policy_id not in _policies():
        raise InvalidInput(f"未知政策 {call.policy_id!r}", f"Unknown policy {call.policy_id!r}")
    run = policy_service.latest_covering_runs(session, actor).get(call.policy_id)
    if run is None:
        raise InvalidInput(f"政策 {call.policy_id} 尚无覆盖本辖区的计算结果；请先运行政策计算",
                           f"no run of {call.policy_id} covers your region yet")
    results = policy_service.read_results(session, run.id, ["verdict"])
    visible = policy_service.visible_ids(session, actor)
    fit = results[results["verdict"].isin(rs.eligible_verdicts)
                  & np.isin(results["enterprise_id"].to_numpy(), visible)]
    muted_ids = pd.concat([repo.mutes(session, call.policy_id),
                           repo.mutes(session, call.program_id)])["enterprise_id"]
    msgs = fit[~fit["enterprise_id"].isin(muted_ids)]
    closes = f"，截止日期 {call.closes_on.isoformat()}" if call.closes_on else ""
    verdict = msgs["verdict"].map(VERDICT_LABELS).fillna(msgs["verdict"]).astype(str)
    frame = pd.DataFrame({
        "enterprise_id": msgs["enterprise_id"].astype(int), "policy_id": call.program_id,
        "period": call.period, "kind": "program_open", "verdict": msgs["verdict"],
        "source": "program", "source_run_id": run.id,
        "title": f"{call.title}：{KIND_LABELS['program_open']}"[:200],
        "body": (f"《{call.title}》已开放申报{closes}。经 {run.eval_year} 年度数据测算，"
                 f"贵企业符合《{run.policy_name}》的条件（判定：" + verdict
                 + "），请登录平台查看申报要求并准备材料。"),
        "gap": None,
        "sms_text": (rs.sms_prefix + f"{call.title}已开放申报，贵企业经测算符合条件，"
                     "请登录平台查看")[:rs.sms_max_chars],
        "link": call.link, "created_at": now(),
    })
    records: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict(
        "records")
    # opening a call is the bureau's own reviewed decision: the announcement goes at once
    batch, inserted = _write_batch(session, actor, records, source="program",
                                   source_run_id=run.id, policy_id=call.program_id,
                                   period=call.period, region_code=actor.region_code,
                                   send=True)
    summary = PushSummary(run.id, call.program_id, call.period, inserted,
                          len(fit) - len(msgs), {"program_open": len(msgs)},
                          batch_id=batch.id if batch else None)
    audit.record(session, actor, "push.program_open", "program", call.program_id,
                 after={**call.model_dump(mode="json"), "policy_run_id": run.id,
                        "fit": len(fit), "inserted": inserted, "muted": summary.muted},
                 region_code=actor.region_code)
    return summary


# -- the enterprise's inbox -----------------------------------------------------------------

def _own_enterprise(actor: Actor) -> int:
    if actor.role != "enterprise" or actor.enterprise_id is None:
        raise Forbidden("只有企业账号有消息收件箱", "Only enterprise accounts have an inbox")
    return actor.enterprise_id


def inbox(session: Session, actor: Actor) -> list[PushMessage]:
    eid = _own_enterprise(actor)
    return repo.inbox(session, actor, eid)


def do_mark_opened(session: Session, actor: Actor, messages: list[PushMessage]) -> int:
    """Record when the enterprise first saw its messages (the inbox page shows them)."""
    eid = _own_enterprise(actor)
    ids = [m.id for m in messages if m.enterprise_id == eid and m.opened_at is None]
    if not ids:
        return 0
    when = now()
    for m in messages:
        if m.id in ids:
            m.opened_at = when
    audit.record(session, actor, "push.opened", "push_message", ",".join(map(str, ids[:50])),
                 after={"ids": ids, "opened_at": when})
    return len(ids)


def _own_message(session: Session, actor: Actor, message_id: int) -> PushMessage:
    eid = _own_enterprise(actor)
    msg = repo.get_message(session, message_id)
    if msg is None or msg.enterprise_id != eid or msg.status != "sent":
        raise NotFound("消息不存在", "No such message")
    return msg


def do_apply(session: Session, actor: Actor, message_id: int) -> PushMessage:
    """「我要申请」: the enterprise intends to apply (opened too, if not yet). Only for the
    kinds one applies for: an expiry notice or tax information says what to do instead."""
    msg = _own_message(session, actor, message_id)
    if msg.kind not in APPLY_KINDS:
        raise InvalidInput("此类消息无需向平台申请：请按消息中的说明办理",
                           "This message needs no application here: follow its instructions")
    if msg.applied_at is None:
        when = now()
        msg.applied_at = when
        if msg.opened_at is None:
            msg.opened_at = when
        audit.record(session, actor, "push.applied", "push_message", msg.id,
                     after={"policy_id": msg.policy_id, "applied_at": when})
    return msg


def muted_policies(session: Session, actor: Actor) -> list[str]:
    eid = _own_enterprise(actor)
    return repo.muted_policies(session, eid)


def _mutable(session: Session, enterprise_id: int, policy_id: str) -> str:
    """A policy (or ``leading``) — or a call the enterprise has a message about — that it
    may mute; anything else is refused."""
    policy_id = policy_id.strip()
    if policy_id in _policies() or policy_id == LEADING:
        return policy_id
    if not repo.told_about_call(session, enterprise_id, policy_id):
        raise InvalidInput(f"未知政策 {policy_id!r}", f"Unknown policy {policy_id!r}")
    return policy_id


def do_mute(session: Session, actor: Actor, policy_id: str) -> bool:
    eid = _own_enterprise(actor)
    policy_id = _mutable(session, eid, policy_id)
    if repo.get_mute(session, eid, policy_id) is not None:
        return False
    repo.add_mute(session, eid, policy_id, actor.user_id)
    audit.record(session, actor, "push.mute", "push_mute", f"{eid}:{policy_id}",
                 after={"enterprise_id": eid, "policy_id": policy_id})
    return True


def do_unmute(session: Session, actor: Actor, policy_id: str) -> bool:
    eid = _own_enterprise(actor)
    mute = repo.get_mute(session, eid, policy_id.strip())
    if mute is None:
        return False
    repo.delete_mute(session, mute)
    audit.record(session, actor, "push.unmute", "push_mute", f"{eid}:{mute.policy_id}",
                 before={"enterprise_id": eid, "policy_id": mute.policy_id})
    return True


# -- the bureau: grants, funnel, export ------------------------------------------------------

def do_grant(session: Session, actor: Actor, message_id: int) -> PushMessage:
    """The bureau records that the enterprise was granted (recognised, funded) for it."""
    row = repo.visible_message(session, actor, message_id)
    if row is None:
        raise NotFound("消息不存在或不在您的权限范围内", "No such message in your scope")
    msg: PushMessage = row[0]
    at = now()
    # the conditional UPDATE decides: of two concurrent grants only one writes the audit row
    won = repo.mark_granted(session, msg, at)
    if won:
        audit.record(session, actor, "push.granted", "push_message", msg.id,
                     after={"policy_id": msg.policy_id, "enterprise_id": msg.enterprise_id,
                            "granted_at": at},
                     region_code=row[1].region_code)
    return msg


def _rate(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def funnel(session: Session, actor: Actor) -> list[FunnelRow]:
    """Reach and conversion per policy and kind; rates are step over pushed."""
    return [FunnelRow(policy_id=p, kind=k, pushed=n, opened=o, applied=a, granted=g,
                      open_rate=_rate(o, n), apply_rate=_rate(a, n), grant_rate=_rate(g, n))
            for p, k, n, o, a, g in repo.funnel(session, actor)]


def funnel_totals(rows: list[FunnelRow]) -> dict[str, int]:
    return {step: sum(getattr(r, step) for r in rows)
            for step in ("pushed", "opened", "applied", "granted")}


def bureau_messages(session: Session, actor: Actor, policy_id: str | None = None,
                    kind: str | None = None, limit: int = 200) -> list[Any]:
    return repo.messages_page(session, actor, policy_id, kind, limit)


def message_count(session: Session, actor: Actor) -> int:
    return repo.message_count(session, actor)


EXPORT_HEADER = ["企业名称", "统一社会信用代码", "政策", "类型", "年度", "短信文本（≤70字）",
                 "标题", "链接", "生成时间（UTC）"]


def do_export(session: Session, actor: Actor, fmt_: str = "xlsx",
              since: date | None = None) -> tuple[bytes, int]:
    """The pending messages (never exported) as CSV or XLSX for SMS/WeChat sending; marks
    them exported. The enterprise model has no contact field yet, so the sending side
    matches on the credit code."""
    if fmt_ not in ("csv", "xlsx"):
        raise InvalidInput(f"导出格式只能是 csv 或 xlsx：{fmt_}")
    start = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    rows = repo.pending_export(session, actor, start)
    body = [[r.name, r.uscc, r.policy_id, KIND_LABELS.get(r.kind, r.kind), r.period,
             r.sms_text, r.title, r.link, r.created_at.astimezone(UTC).isoformat()]
            for r in rows]
    if fmt_ == "xlsx":
        data = write_xlsx([("待发送消息", EXPORT_HEADER, body)])
    else:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(EXPORT_HEADER)
        for row in body:
            writer.writerow(neutralise_row(row))
        data = buf.getvalue().encode("utf-8-sig")
    ids = [r.id for r in rows]
    if ids:
        when = now()
        repo.mark(session, ids, "exported_at", when)
        audit.record(session, actor, "push.export", "push_message", None,
                     after={"count": len(ids), "format": fmt_, "since": since,
                            "first_id": ids[0], "last_id": ids[-1], "exported_at": when},
                     region_code=actor.region_code)
    return data, len(ids)


def rate_text(rate: float | None) -> str:
    return "—" if rate is None or math.isnan(rate) else f"{rate * 100:.1f}%"


def run_results(session: Session, run_id: int,
                enterprise_ids: Sequence[int] | np.ndarray | None = None, *,
                with_names: bool = True) -> pd.DataFrame:
    """One policy run's results (verdict, n_failed, score range), with each enterprise's
    uscc and name unless ``with_names`` is false."""
    return repo.run_results(session, run_id, enterprise_ids, with_names=with_names)


def do_push_notices(session: Session, actor: Actor, *, topic: str, kind: str, period: int,
                    source: str, notices: pd.DataFrame) -> PushSummary:
    """Inbox messages composed by another capability (carbon-efficiency alerts…):
    ``notices`` has enterprise_id, title, body, sms_text, link. Enterprises that muted
    ``topic`` get none; idempotent by the (enterprise, topic, period) key; one audit row."""
    rs = rules()
    muted = repo.mutes(session, topic)["enterprise_id"]
    msgs = notices[~notices["enterprise_id"].isin(muted)]
    frame = pd.DataFrame({
        "enterprise_id": msgs["enterprise_id"].astype(int), "policy_id": topic,
        "period": period, "kind": kind, "verdict": None, "source": source,
        "source_run_id": None, "title": msgs["title"].str.slice(0, 200), "body": msgs["body"],
        "gap": None, "sms_text": _sms(rs.sms_prefix, msgs["sms_text"], rs.sms_max_chars),
        "link": msgs["link"], "created_at": now()})
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    # the calling capability reviewed these notices (carbon alerts are sent after review)
    _, inserted = _write_batch(session, actor, records, source="notice", source_run_id=None,
                               policy_id=topic, period=period, region_code=actor.region_code,
                               send=True)
    audit.record(session, actor, "push.notices", source, f"{topic}:{period}",
                 after={"kind": kind, "notices": len(notices), "inserted": inserted,
                        "muted": len(notices) - len(msgs)}, region_code=actor.region_code)
    return PushSummary(None, topic, period, inserted, len(notices) - len(msgs),
                       {kind: len(msgs)})


# -- review of draft batches ----------------------------------------------------------------

def _policy_names(policy_id: str) -> tuple[str, str]:
    """(Chinese, English) name of a batch's policy, the leading tier or a call's id."""
    lp = _policies().get(policy_id)
    if lp is not None:
        return lp.policy.name, lp.policy.name_en or lp.policy.name
    if policy_id == LEADING:
        return "领军企业", "Leading enterprises"
    return policy_id, policy_id


def _batch_out(batch: PushBatch, messages: int) -> BatchOut:
    name_zh, name_en = _policy_names(batch.policy_id)
    return BatchOut(id=batch.id, source=batch.source, source_run_id=batch.source_run_id,
                    policy_id=batch.policy_id, policy_name=name_zh, policy_name_en=name_en,
                    period=batch.period, region_code=batch.region_code,
                    status=batch.status,
                    counts=batch.counts or {}, messages=messages,
                    created_at=batch.created_at, created_by=batch.created_by,
                    decided_at=batch.decided_at, decided_by=batch.decided_by,
                    decision=batch.decision)


def batches(session: Session, actor: Actor, status: str | None = None,
            limit: int = 100) -> list[BatchOut]:
    """Batches in the actor's region scope, newest first (``status``: draft, sent,
    discarded)."""
    return [_batch_out(b, int(n)) for b, n in repo.batches(session, actor, status, limit)]


def draft_count(session: Session, actor: Actor) -> int:
    """Draft batches waiting for review in the actor's scope (the workbench shows it)."""
    return repo.draft_count(session, actor)


def _scoped_batch(session: Session, actor: Actor, batch_id: int, *,
                  lock: bool = False) -> PushBatch:
    batch = repo.get_batch(session, actor, batch_id, lock=lock)
    if batch is None:
        raise NotFound("推送批次不存在或不在您的权限范围内", "No such push batch in your scope")
    return batch


def batch_detail(session: Session, actor: Actor, batch_id: int) -> tuple[BatchOut,
                                                                        list[BatchItemOut]]:
    """A batch and its messages (who, which message, why) within the actor's scope."""
    batch = _scoped_batch(session, actor, batch_id)
    rows = repo.batch_items(session, actor, batch_id)
    items = [BatchItemOut(id=m.id, enterprise_id=m.enterprise_id, uscc=uscc,
                          enterprise_name=name, kind=m.kind,
                          kind_label=KIND_LABELS.get(m.kind, m.kind), verdict=m.verdict,
                          title=m.title, body=m.body, gap=m.gap, benefit=m.benefit,
                          sms_text=m.sms_text, status=m.status)
             for m, uscc, name in rows]
    return _batch_out(batch, len(items)), items


def _draft(session: Session, actor: Actor, batch_id: int) -> PushBatch:
    batch = _scoped_batch(session, actor, batch_id, lock=True)
    if batch.status != "draft":
        state = {"sent": "已发送", "discarded": "已放弃"}.get(batch.status, batch.status)
        raise Conflict(f"推送批次 #{batch_id} {state}，不能再修改或发送",
                       f"push batch #{batch_id} is {batch.status}: it cannot change")
    return batch


def do_send_batch(session: Session, actor: Actor, batch_id: int,
                  decision: SendBatchIn | None = None) -> BatchOut:
    """The reviewer's one action on a draft batch: drop some items, edit some texts, send
    the rest to the enterprises' inboxes. One audit row names the dropped and edited ids."""
    decision = decision or SendBatchIn()
    batch = _draft(session, actor, batch_id)
    bodies = repo.draft_bodies(session, actor, batch_id)
    draft_ids = set(bodies)
    unknown = (set(decision.drop) | set(decision.edits)) - draft_ids
    if unknown:
        raise InvalidInput(f"消息 {sorted(unknown)[:5]} 不属于推送批次 #{batch_id}",
                           f"messages {sorted(unknown)[:5]} are not in batch #{batch_id}")
    # a form posts every text: only those that differ from the draft are edits
    edits = {k: v for k, v in decision.edited.items()
             if k not in set(decision.drop) and v != bodies[k].strip()}
    empty = [k for k, v in edits.items() if not v]
    if empty:
        raise InvalidInput(f"消息 #{empty[0]} 的正文不能为空（不发送请勾选「不发送」）",
                           f"message #{empty[0]}: the text cannot be empty (drop it instead)")
    edited = repo.edit_bodies(session, batch_id, edits)
    when = now()
    dropped = repo.set_batch_status(session, batch_id, sorted(set(decision.drop)), "dropped",
                                    None)
    sent = repo.set_batch_status(session, batch_id, sorted(draft_ids - set(decision.drop)),
                                 "sent", when)
    batch.status, batch.decided_at, batch.decided_by = "sent", when, actor.username
    batch.decision = {"sent": sent, "dropped": dropped, "edited": edited}
    audit.record(session, actor, "push.batch_sent", "push_batch", batch.id,
                 before={"status": "draft"},
                 after={"status": "sent", "policy_id": batch.policy_id,
                        "period": batch.period, **batch.decision,
                        "dropped_ids": sorted(set(decision.drop))[:500],
                        "edited_ids": sorted(edits)[:500]},
                 region_code=batch.region_code)
    return _batch_out(batch, len(draft_ids))


def do_discard_batch(session: Session, actor: Actor, batch_id: int, reason: str) -> BatchOut:
    """Send nothing of a draft batch; its messages stay dropped (a re-run of the same year
    does not write them again)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("请填写放弃原因", "Give a reason for discarding the batch")
    batch = _draft(session, actor, batch_id)
    ids = repo.batch_message_ids(session, batch_id, "draft")
    dropped = repo.set_batch_status(session, batch_id, ids, "dropped", None)
    when = now()
    batch.status, batch.decided_at, batch.decided_by = "discarded", when, actor.username
    batch.decision = {"sent": 0, "dropped": dropped, "edited": 0}
    audit.record(session, actor, "push.batch_discarded", "push_batch", batch.id,
                 before={"status": "draft"},
                 after={"status": "discarded", "dropped": dropped, "reason": reason[:500]},
                 region_code=batch.region_code)
    return _batch_out(batch, len(ids))
