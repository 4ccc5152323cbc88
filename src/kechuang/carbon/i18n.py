# ruff: noqa: E501  (UI strings read best unbroken)
"""UI strings of the carbon-efficiency pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "carbon.title": ("碳效码", "Carbon efficiency"),
    "carbon.intro": (
        "按 DB33/T 1347-2023：碳排放强度 = 月度二氧化碳排放量 ÷ 月度工业增加值；与行业基准之比分五级，1 级最好。",
        "After DB33/T 1347-2023: intensity = monthly CO₂ ÷ monthly value added; the ratio to the "
        "industry benchmark gives five grades, 1 is best."),
    "carbon.none": ("尚无碳效评价结果。", "No carbon evaluation yet."),
    "carbon.evaluate": ("重新评价（全部月份）", "Evaluate again (every month)"),
    "carbon.evaluated": ("已完成碳效评价 #{id}", "Carbon evaluation #{id} done"),
    "carbon.evaluation": ("评价 #{id}：{enterprises} 家企业，{graded} 个企业月评级，{alerts} 条预警",
                          "Evaluation #{id}: {enterprises} enterprises, {graded} graded "
                          "enterprise-months, {alerts} alerts"),
    "carbon.period": ("月份", "Month"),
    "carbon.shares": ("各等级企业占比（按月）", "Share of enterprises in each grade, by month"),
    "carbon.by_region": ("按镇（街道、园区）", "By town (street, park)"),
    "carbon.by_industry": ("按行业（大类）", "By industry (division)"),
    "carbon.alerts": ("本月预警", "This month's alerts"),
    "carbon.alerts.none": ("本月没有预警。", "No alert this month."),
    "carbon.alerts.notify": ("审核无误，发送到企业消息", "Reviewed: send to the enterprises' inboxes"),
    "carbon.alerts.notified": ("已发送 {notified} 条（{already} 条此前已发送）",
                               "{notified} sent ({already} sent before)"),
    "carbon.export": ("导出本月评价（CSV）", "Export this month (CSV)"),
    "carbon.col.enterprise": ("企业", "Enterprise"),
    "carbon.col.region": ("区域", "Region"),
    "carbon.col.industry": ("行业", "Industry"),
    "carbon.col.graded": ("评级企业数", "Graded"),
    "carbon.col.median": ("强度中位数（吨/万元）", "Median intensity (t/10k CNY)"),
    "carbon.col.grade": ("碳效等级", "Grade"),
    "carbon.col.grade_n": ("{grade} 级", "Grade {grade}"),
    "carbon.col.intensity": ("碳排放强度（吨/万元）", "Intensity (t per 10k CNY)"),
    "carbon.col.level": ("强度水平", "Intensity level"),
    "carbon.col.benchmark": ("行业基准", "Benchmark"),
    "carbon.col.benchmark_level": ("基准口径", "Benchmark basis"),
    "carbon.col.ratio": ("碳效比 K", "Ratio K"),
    "carbon.col.industry_rank": ("行业排名", "Rank in industry"),
    "carbon.col.region_rank": ("区域排名", "Rank in region"),
    "carbon.col.alert": ("预警", "Alert"),
    "carbon.level.low": ("低", "low"),
    "carbon.level.medium": ("中", "medium"),
    "carbon.level.high": ("高", "high"),
    "carbon.basis.class": ("本小类计算", "computed: class"),
    "carbon.basis.group": ("大类（3 位）计算", "computed: group"),
    "carbon.basis.division": ("大类（2 位）计算", "computed: division"),
    "carbon.basis.section": ("门类计算", "computed: section"),
    "carbon.basis.published": ("公布基准", "published"),
    "carbon.alert.grade_drop": ("等级下降", "grade dropped"),
    "carbon.alert.intensity_up": ("强度上升超 10%", "intensity up over 10 %"),
    "carbon.enterprise.title": ("{name} · 碳效码", "{name} · carbon efficiency"),
    "carbon.enterprise.latest": ("最新碳效等级（{period}）", "Latest grade ({period})"),
    "carbon.enterprise.trend": ("月度趋势", "Monthly trend"),
    "carbon.enterprise.none": ("该企业尚无碳效评价（需要月度二氧化碳排放量和工业增加值）。",
                               "No carbon grade yet (needs monthly CO₂ and value added)."),
    "carbon.enterprise.rank": ("行业内第 {rank}/{count} 位", "#{rank} of {count} in its industry"),
    "carbon.enterprise.region_rank": ("区域内第 {rank}/{count} 位", "#{rank} of {count} in its region"),
    "carbon.ungraded": ("不评级（无增加值）", "not graded (no value added)"),
    "carbon.chart.grade": ("等级", "Grade"),
    "carbon.chart.intensity": ("强度", "Intensity"),
}

register_messages(MESSAGES)
