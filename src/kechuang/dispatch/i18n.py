"""UI strings of the dispatch pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "dispatch.title": ("特派员分派", "Commissioner dispatch"),
    "dispatch.open_requests": ("待分派的服务需求", "Open service requests"),
    "dispatch.none_open": ("范围内没有待分派的服务需求", "No open service request in scope"),
    "dispatch.pool": ("在岗特派员 {n} 名，总容量 {cap}，空余容量 {free}",
                      "{n} active commissioners, capacity {cap}, free {free}"),
    "dispatch.run.submit": ("运行最优分派", "Run optimal dispatch"),
    "dispatch.run.alternates": ("每个需求保留备选人数", "Alternates per request"),
    "dispatch.run.hint": ("在满足容量和利益冲突约束的前提下，先使获得服务的需求最多，"
                          "再使总匹配度最高；结果可证明最优",
                          "Serves as many requests as possible, then maximises total fit, "
                          "under capacity and conflict constraints; provably optimal"),
    "dispatch.runs": ("最近的分派运行", "Recent dispatch runs"),
    "dispatch.run": ("分派运行 #{id}", "Dispatch run #{id}"),
    "dispatch.col.request": ("需求", "Request"),
    "dispatch.col.enterprise": ("企业", "Enterprise"),
    "dispatch.col.region": ("地区", "Region"),
    "dispatch.col.team": ("所需人数", "Team size"),
    "dispatch.col.created": ("提出时间", "Created"),
    "dispatch.col.commissioner": ("特派员", "Commissioner"),
    "dispatch.col.fit": ("匹配度", "Fit"),
    "dispatch.col.status": ("状态", "Status"),
    "dispatch.col.alternates": ("备选", "Alternates"),
    "dispatch.col.actions": ("操作", "Actions"),
    "dispatch.col.run": ("运行", "Run"),
    "dispatch.col.filled": ("已填补/所需", "Filled / needed"),
    "dispatch.col.total_fit": ("总匹配度", "Total fit"),
    "dispatch.summary": ("{req} 个需求、{com} 名特派员：填补 {filled}/{needed} 个名额，"
                         "总匹配度 {fit}",
                         "{req} requests, {com} commissioners: {filled}/{needed} seats filled, "
                         "total fit {fit}"),
    "dispatch.proof": ("最优性证明", "Optimality proof"),
    "dispatch.proof.text": ("{method}；对偶上界 {bound}，间隙 {gap}，整数解：{integral}",
                            "{method}; dual bound {bound}, gap {gap}, integral: {integral}"),
    "dispatch.proof.sentence": ("这次派单是最优的：任何其他派法的总匹配度都不会超过 {bound}，"
                                "本方案与这一上限相差不到 {gap}。",
                                "This dispatch is the best possible: no other assignment "
                                "reaches a total fit above {bound}, and this one is within "
                                "{gap} of it."),
    "dispatch.proof.fractional": ("（计算得到的是非整数解，结果已取整，最优性仅供参考。）",
                                  "(The computation gave a fractional solution, rounded; "
                                  "optimality is indicative only.)"),
    "dispatch.unserved": ("未能满足的需求及原因", "Unserved requests and why"),
    "dispatch.chart": ("匹配度分布", "Fit distribution"),
    "dispatch.confirm": ("确认", "Confirm"),
    "dispatch.redispatch": ("改派给", "Re-dispatch to"),
    "dispatch.redispatch.best": ("最佳可用备选", "best available alternate"),
    "dispatch.status.assigned": ("已分派", "Assigned"),
    "dispatch.status.confirmed": ("已确认", "Confirmed"),
    "dispatch.status.replaced": ("已改派", "Replaced"),
    "dispatch.request.open": ("待分派", "Open"),
    "dispatch.request.assigned": ("已分派", "Assigned"),
    "dispatch.request.in_service": ("服务中", "In service"),
    "dispatch.request.closed": ("已关闭", "Closed"),
    "dispatch.yes": ("是", "yes"),
    "dispatch.no": ("否", "no"),
}

register_messages(MESSAGES)
