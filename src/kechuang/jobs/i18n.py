"""UI strings of the job pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "jobs.title": ("后台任务", "Jobs"),
    "jobs.job": ("任务 #{id}", "Job #{id}"),
    "jobs.kind": ("类型", "Kind"),
    "jobs.status": ("状态", "Status"),
    "jobs.progress": ("进度", "Progress"),
    "jobs.params": ("参数", "Parameters"),
    "jobs.created": ("提交时间", "Submitted"),
    "jobs.started": ("开始时间", "Started"),
    "jobs.finished": ("结束时间", "Finished"),
    "jobs.actor": ("提交人", "Submitted by"),
    "jobs.result": ("结果", "Result"),
    "jobs.error": ("失败原因", "Error"),
    "jobs.open_result": ("查看结果", "Open the result"),
    "jobs.none": ("暂无任务", "No jobs yet"),
    "jobs.polling": ("页面每秒自动刷新进度", "This page refreshes the progress every second"),
    "jobs.status.queued": ("排队中", "Queued"),
    "jobs.status.running": ("运行中", "Running"),
    "jobs.status.done": ("已完成", "Done"),
    "jobs.status.failed": ("失败", "Failed"),
    "jobs.kind.scoring.run": ("积分测算", "Scoring run"),
    "jobs.kind.robustness": ("稳健性检验", "Robustness check"),
    "jobs.kind.policy.run": ("政策匹配", "Policy matching"),
    "jobs.kind.dispatch.run": ("特派员派单", "Commissioner dispatch"),
    "jobs.kind.matching.index.rebuild": ("重建对接索引", "Rebuild the matching index"),
    "jobs.kind.finance.match": ("金融产品匹配", "Finance matching"),
    "jobs.result.scoring.run": ("测算完成：{enterprises} 家企业参与积分，其中 "
                                "{vetoed} 家被一票否决（测算 #{run_id}）。",
                                "Scored {enterprises} enterprises, {vetoed} of them vetoed "
                                "(run #{run_id})."),
    "jobs.result.robustness": ("检验完成：重复 {replications} 次，排名不稳定的企业"
                               " {unstable} 家（分析 #{analysis_id}）。",
                               "{replications} replications; {unstable} enterprises have an "
                               "unstable rank (analysis #{analysis_id})."),
    "jobs.result.policy.run": ("匹配完成：{policies} 项政策，覆盖 {enterprises} 家企业。",
                               "Matched {policies} policies over {enterprises} enterprises."),
    "jobs.result.dispatch.run": ("派单完成（派单批次 #{run_id}）。",
                                 "Dispatch finished (run #{run_id})."),
    "jobs.result.matching.index.rebuild": ("索引已重建：成果 {achievement} 项，需求 {demand} 项，"
                                           "专家 {expert} 位。",
                                           "Index rebuilt: {achievement} achievements, "
                                           "{demand} demands, {expert} experts."),
    "jobs.result.finance.match": ("匹配完成：{needs} 项融资需求，{products} 个金融产品，"
                                  "形成 {pairs} 个匹配。",
                                  "{needs} financing needs against {products} products gave "
                                  "{pairs} matches."),
    "jobs.result.generic": ("任务已完成。", "The job finished."),
    "jobs.param.system_id": ("积分体系", "Scoring system"),
    "jobs.param.year": ("年度", "Year"),
    "jobs.param.region_code": ("辖区", "Region"),
    "jobs.param.policy_ids": ("政策", "Policies"),
    "jobs.param.run_id": ("测算", "Run"),
}

register_messages(MESSAGES)
