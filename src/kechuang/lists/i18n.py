"""UI strings of the lists pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import MESSAGES, register_messages

_MESSAGES: dict[str, tuple[str, str]] = {
    "lists.nav": ("创新积分榜", "Innovation lists"),
    "lists.nav_manage": ("榜单发布", "Publish lists"),
    "lists.nav_stats": ("积分统计", "Points statistics"),
    "lists.title": ("企业创新积分榜", "Enterprise innovation points lists"),
    "lists.public_intro": ("按营收阶段分别评出领跑榜、竞跑榜、进取榜；一票否决企业不列入榜单。",
                           "Per revenue stage: leaders, runners-up and climbers; vetoed "
                           "enterprises are never listed."),
    "lists.none_published": ("暂无已发布的榜单。", "No list has been published yet."),
    "lists.choose_run": ("选择榜单", "Choose a list"),
    "lists.show": ("查看", "Show"),
    "lists.current": ("当前", "current"),
    "lists.history": ("历史", "history"),
    "lists.year": ("年度", "Year"),
    "lists.system": ("指标体系", "Indicator system"),
    "lists.scope": ("范围", "Scope"),
    "lists.all_regions": ("全部地区", "All regions"),
    "lists.cannot_publish": (
        "只有科技局管理员可以发布或撤回榜单；您做的稳健性分析在局内可见，随下一次发布进入公开页面。",
        "Only a bureau administrator may publish or withdraw lists; your robustness analyses"
        " are visible inside the bureau and reach the public page with the next publication."),
    "lists.publishers": ("可以发布本辖区榜单的管理员：", "Administrators who can publish here: "),
    "lists.publishers_none": ("本辖区尚无管理员账号，请联系平台管理员。",
                              "No administrator account covers this region yet: ask the"
                              " platform administrator."),
    "lists.unpublished_analysis": (
        "本榜单发布后又做了稳健性分析：公开页面仍显示发布时的结果，管理员再次发布后更新。",
        "A robustness analysis was made after this list was published: the public page shows"
        " the published one until an administrator publishes again."),
    "lists.published_at": ("发布时间", "Published"),
    "lists.unpublished": ("未发布", "Not published"),
    "lists.preview": ("预览（尚未发布，公众不可见）", "Preview (not published, not public)"),
    "lists.stage": ("发展阶段", "Stage"),
    "lists.stage_none": ("未分阶段", "No stage"),
    "lists.stage_all": ("全部企业（不分阶段排名）", "All enterprises (one ranking)"),
    "lists.col.place": ("名次", "Place"),
    "lists.col.name": ("企业名称", "Enterprise"),
    "lists.col.uscc": ("统一社会信用代码", "Credit code"),
    "lists.col.industry": ("行业", "Industry"),
    "lists.col.region": ("所在地", "Location"),
    "lists.col.points": ("积分", "Points"),
    "lists.col.rank": ("总名次", "Overall rank"),
    "lists.col.robust": ("稳健性", "Robustness"),
    "lists.col.tier": ("榜单", "List"),
    "lists.col.amount": ("金额（元）", "Amount (yuan)"),
    "lists.col.rule": ("奖励规则", "Rule"),
    "lists.col.veto": ("否决原因", "Veto reason"),
    "lists.col.status": ("状态", "Status"),
    "lists.unstable": ("名次不稳健", "Place not robust"),
    "lists.unstable_hint": ("不确定性分析显示该企业的名次随方法选择变化较大"
                             "（90% 名次区间 {p05}–{p95}）",
                            "The uncertainty analysis shows this place depends on method "
                            "choices (90% rank interval {p05}–{p95})"),
    "lists.robust_note": ("已做名次稳健性分析：{n} 家企业的名次不稳健。",
                          "Robustness analysed: {n} places are not robust."),
    "lists.listed": ("上榜企业 {n} 家", "{n} enterprises listed"),
    "lists.export": ("导出 Excel", "Export Excel"),
    "lists.publish": ("发布榜单", "Publish"),
    "lists.publish_confirm": ("发布后榜单将对公众可见，确定发布？",
                              "The lists will be public. Publish?"),
    "lists.withdraw": ("撤回发布", "Withdraw"),
    "lists.withdraw_confirm": ("撤回后公众将看不到此榜单，确定撤回？",
                               "The public will no longer see these lists. Withdraw?"),
    "lists.published_ok": ("已发布：批次 {run}", "Published: run {run}"),
    "lists.withdrawn_ok": ("已撤回：批次 {run}", "Withdrawn: run {run}"),
    "lists.vetoed": ("一票否决（不列入榜单，仅科技局可见）", "Vetoed (never listed; bureau only)"),
    "lists.vetoed_none": ("本批次无一票否决企业。", "No enterprise vetoed in this run."),
    "lists.manage_title": ("榜单发布管理", "Publishing lists"),
    "lists.runs_none": ("还没有评分批次。请先在“创新积分”中发起评分。",
                        "No scoring run yet. Start one under scoring first."),
    "lists.run": ("批次", "Run"),
    "lists.enterprises": ("企业数", "Enterprises"),
    "lists.view": ("查看榜单", "View lists"),
    "lists.dividends": ("积分红利", "Points dividends"),
    "lists.dividends_title": ("积分红利支付清单", "Points dividend payment list"),
    "lists.scheme": ("奖励方案", "Reward scheme"),
    "lists.scheme_upload": ("或上传方案文件（YAML）", "Or upload a scheme file (YAML)"),
    "lists.compute": ("计算", "Compute"),
    "lists.total": ("合计", "Total"),
    "lists.budget": ("预算", "Budget"),
    "lists.unallocated": ("未分配", "Unallocated"),
    "lists.no_budget": ("不设预算", "No budget"),
    "lists.paid": ("获奖企业 {n} 家（符合条件 {m} 家）", "{n} paid ({m} eligible)"),
    "lists.scheme_hash": ("方案文件 SHA-256", "Scheme SHA-256"),
    "lists.rounding": ("金额先向下取整到分，再按余数从大到小逐分补足（同额企业同等对待），"
                        "总额不超过预算；一票否决企业不获奖励。",
                       "Amounts are floored to the cent, then spare cents go to the largest "
                       "remainders (equal amounts alike); the total never exceeds the budget; "
                       "vetoed enterprises are never paid."),
    "lists.nobody_paid": ("按此方案无企业获奖。", "Nobody is paid under this scheme."),
    "lists.stats_title": ("创新积分年度统计", "Yearly points statistics"),
    "lists.stats_summary": ("统计概况", "Summary"),
    "lists.participations": ("累计参与（家次）", "Participations (enterprise-years)"),
    "lists.distinct_enterprises": ("参与企业（家）", "Enterprises taking part"),
    "lists.avg_growth": ("企业积分年均增长", "Average annual growth of points"),
    "lists.growth": ("积分增长", "Growth of points"),
    "lists.participants": ("参与企业", "Participants"),
    "lists.share_rd_institution": ("建有研发机构", "With R&D institution"),
    "lists.share_rd_expense": ("有研发投入", "With R&D spending"),
    "lists.share_cooperation": ("开展产学研合作*", "Cooperating with universities*"),
    "lists.cooperation_proxy": ("* 产学研合作暂以“技术合同成交额 > 0”近似，"
                                 "待高校院所合作记录接入后改用实际记录。",
                                "* Cooperation is approximated by technology-contract turnover "
                                "> 0 until cooperation records exist."),
    "lists.version_changed": ("体系版本变更", "system version changed"),
    "lists.stats_none": ("该体系暂无评分批次。", "No runs of this system yet."),
    "lists.include_unpublished": ("含未发布批次", "Include unpublished runs"),
    "lists.growth_def": ("增长按相邻年度都参与评分的企业计算：当年积分合计 ÷ 上年积分合计 − 1；"
                          "年均增长为各年增长的几何平均。",
                         "Growth over enterprises scored in both consecutive years: Σ points "
                         "this year ÷ Σ last year − 1; the average is the geometric mean."),
    "lists.chart": ("年度趋势", "Trend by year"),
    "lists.unit_yuan": ("（元）", " (yuan)"),
    "lists.paren_open": ("（", " ("),
    "lists.paren_close": ("）", ")"),
    # English names of the shipped reward schemes (an uploaded scheme shows its own name)
    "lists.scheme.points-dividend": (
        "积分红利（预算 1000 万元，60 分以上按超出积分分配，单家封顶 100 万元）",
        "Points dividend (budget 10 million yuan, shared by points above 60, capped at 1 million "
        "yuan per enterprise)"),
    "lists.scheme_desc.points-dividend": (
        "张家港式“积分红利”：把分散的政策扶持统一转化为按积分分配的奖励资金。",
        "Zhangjiagang-style points dividend: scattered policy support turned into one reward "
        "fund shared out by points."),
    "lists.scheme.ranks-top10": ("总榜前十名次奖励", "Awards for the top ten of the overall list"),
    "lists.scheme_desc.ranks-top10": (
        "第 1 名 50 万元，第 2–3 名 30 万元，第 4–10 名 10 万元。",
        "1st: 500,000 yuan; 2nd–3rd: 300,000 yuan; 4th–10th: 100,000 yuan."),
    "lists.scheme.tiers-wenzhou": ("榜单档次奖励（领跑 20 万 / 竞跑 10 万 / 进取 5 万）",
                                   "Awards by list tier (leading 200,000 / racing 100,000 / "
                                   "striving 50,000 yuan)"),
    "lists.scheme_desc.tiers-wenzhou": (
        "每家上榜企业按所在榜单领取固定金额；设总预算 500 万元，超出时按比例压缩。",
        "Each listed enterprise receives a fixed amount by its list; total budget 5 million "
        "yuan, scaled down in proportion when exceeded."),
}

if "lists.title" not in MESSAGES:
    register_messages(_MESSAGES)
