"""UI strings of the policy pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "policy.title": ("政策计算", "Policies"),
    "policy.section": ("政策符合情况", "Policy eligibility"),
    "policy.loading": ("正在加载政策符合情况…", "Loading policy eligibility…"),
    "policy.none": ("尚未运行政策计算，暂无结果", "No policy run yet"),
    "policy.col.policy": ("政策", "Policy"),
    "policy.col.document": ("依据文件", "Document"),
    "policy.col.effective": ("有效期", "In force"),
    "policy.col.latest": ("最近一次运行", "Latest run"),
    "policy.col.counts": ("判定分布", "Verdicts"),
    "policy.verdict": ("判定", "Verdict"),
    "policy.score": ("得分", "Score"),
    "policy.pass_mark": ("合格分 {mark}", "pass mark {mark}"),
    "policy.failed": ("不满足的条件", "Conditions not met"),
    "policy.missing": ("缺少的数据", "Missing inputs"),
    "policy.conditions": ("全部条件及依据条款", "All conditions and their clauses"),
    "policy.clause": ("依据", "Clause"),
    "policy.value": ("检验值", "Tested value"),
    "policy.run_info": ("运行 #{run}，评价日 {as_of}，评价年度 {year}",
                        "Run #{run}, as of {as_of}, evaluation year {year}"),
    "policy.run.submit": ("运行全部内置政策", "Run all built-in policies"),
    "policy.run.as_of": ("评价日（默认今天）", "As-of date (default today)"),
    "policy.run.job_hint": ("作为后台任务运行，可在任务页查看进度；完成后精准推送与梯次随之更新",
                            "Runs as a background job with its progress on the job page; "
                            "push messages and tiers follow when it is done"),
    "policy.run.done": ("已完成 {n} 项政策计算", "{n} policy runs done"),
    "policy.never": ("从未运行", "Never run"),
    "policy.until_now": ("至今", "until now"),
    "policy.verdict.eligible": ("符合", "Eligible"),
    "policy.verdict.ineligible": ("不符合", "Ineligible"),
    "policy.verdict.insufficient_data": ("数据不足", "Insufficient data"),
    "policy.verdict.likely": ("很可能符合", "Likely"),
    "policy.verdict.borderline": ("临界", "Borderline"),
}

register_messages(MESSAGES)
