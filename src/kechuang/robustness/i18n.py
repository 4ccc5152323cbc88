"""UI strings of the robustness pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "robustness.nav": ("名次稳健性", "Robustness"),
    "robustness.title": ("名次稳健性分析", "Robustness of ranks"),
    "robustness.intro": (
        "蒙特卡洛不确定性分析：在权重扰动、标准化方法、汇总方法和缩尾水平的替代选择下反复重算积分，"
        "给出每家企业的名次中位数与 90% 名次区间，以及各项选择的一阶与总效应敏感性指数。",
        "Monte Carlo uncertainty analysis: points are recomputed under alternative weights, "
        "normalisations, aggregations and winsorisation levels, giving each enterprise a median "
        "rank and a 90% rank interval, and first-order and total sensitivity indices of the "
        "choices."),
    "robustness.runs": ("评分运行", "Scoring runs"),
    "robustness.no_runs": ("尚无评分运行。请先在“企业创新积分”中运行评分。",
                           "No scoring run yet. Run a scoring first."),
    "robustness.col.run": ("评分运行", "Scoring run"),
    "robustness.col.system": ("指标体系", "System"),
    "robustness.col.year": ("年度", "Year"),
    "robustness.col.latest": ("最近一次分析", "Latest analysis"),
    "robustness.col.analysis": ("分析", "Analysis"),
    "robustness.col.replications": ("重复次数", "Replications"),
    "robustness.col.seed": ("随机种子", "Seed"),
    "robustness.col.unstable": ("名次不稳健", "Not robust"),
    "robustness.col.created": ("时间", "Time"),
    "robustness.none_yet": ("尚未分析", "Not analysed"),
    "robustness.open": ("查看", "Open"),
    "robustness.run_title": ("评分运行 #{id} 的稳健性分析", "Robustness of scoring run #{id}"),
    "robustness.start": ("开始分析", "Start the analysis"),
    "robustness.start_hint": ("分析作为后台任务运行并显示进度；同一随机种子得到完全相同的结果。",
                              "The analysis runs as a background job with progress; the same "
                              "seed gives identical results."),
    "robustness.replications": ("重复次数", "Replications"),
    "robustness.seed": ("随机种子", "Seed"),
    "robustness.analyses": ("已有分析", "Analyses"),
    "robustness.analysis": ("稳健性分析 #{id}", "Robustness analysis #{id}"),
    "robustness.of_run": ("评分运行 #{id}", "Scoring run #{id}"),
    "robustness.summary": ("{ranked} 家企业参与排名，{unstable} 家名次不稳健；"
                           "{reps} 次重复，种子 {seed}",
                           "{ranked} enterprises ranked, {unstable} places not robust; "
                           "{reps} replications, seed {seed}"),
    "robustness.sensitivity": ("各项选择的敏感性指数", "Sensitivity indices of the choices"),
    "robustness.sensitivity_hint": (
        "输出量为相对名义方案的平均名次绝对变动；S1 为一阶指数（单独贡献），"
        "ST 为总效应指数（含交互）；± 为 95% 置信区间半宽。",
        "Output: mean absolute rank shift from the nominal ranking; S1 first-order (alone), "
        "ST total (with interactions); ± is the half-width of the 95% confidence interval."),
    "robustness.factor": ("因素", "Factor"),
    "robustness.factor.weights": ("权重", "Weights"),
    "robustness.factor.normalisation": ("标准化方法", "Normalisation"),
    "robustness.factor.aggregation": ("汇总方法", "Aggregation"),
    "robustness.factor.winsorisation": ("缩尾（异常值处理）", "Winsorisation"),
    "robustness.s1": ("一阶 S1", "S1 first-order"),
    "robustness.st": ("总效应 ST", "ST total"),
    "robustness.levels": ("备选水平数", "Levels"),
    "robustness.inactive": ("未生效", "inactive"),
    "robustness.no_sensitivity": ("本次分析未计算敏感性指数（见说明）",
                                  "No sensitivity indices in this analysis (see the notes)"),
    "robustness.mean_shift": ("平均名次变动：均值 {mean}，95% 分位 {p95}",
                              "Mean rank shift: mean {mean}, 95th percentile {p95}"),
    "robustness.rule": ("判定规则", "Rule"),
    "robustness.rule_text": (
        "名次不稳健：90% 名次区间跨越榜单切分线（{cohort}内 {cutoffs}），"
        "或区间宽度超过 {width} 名。",
        "Not robust: the 90% rank interval crosses a list cut-off ({cutoffs} within {cohort}) "
        "or is wider than {width} places."),
    "robustness.everyone": ("全体", "everyone"),
    "robustness.notes": ("说明", "Notes"),
    "robustness.least": ("名次最不稳健的企业", "Least robust enterprises"),
    "robustness.only_unstable": ("只看不稳健", "Not robust only"),
    "robustness.col.enterprise": ("企业", "Enterprise"),
    "robustness.col.rank": ("名次", "Rank"),
    "robustness.col.points": ("积分", "Points"),
    "robustness.col.stage": ("阶段", "Stage"),
    "robustness.col.tier": ("榜单", "List"),
    "robustness.col.median": ("名次中位数", "Median rank"),
    "robustness.col.interval": ("90% 名次区间", "90% rank interval"),
    "robustness.col.robust": ("稳健", "Robust"),
    "robustness.robust": ("稳健", "robust"),
    "robustness.not_robust": ("不稳健", "not robust"),
    "robustness.no_rows": ("没有符合条件的企业", "No enterprise"),
    "robustness.parameters": ("参数（不确定选择及其范围）", "Parameters (uncertain choices)"),
}

register_messages(MESSAGES)
