"""Audit actions in words a bureau reads: one label per action code written anywhere in the
code base (``kechuang.kit.audit.record(session, actor, "<code>", …)``), and one per family
of codes built at run time (``programs.call.<step>``), whose last part is shown as the step.
tests/admin/test_action_labels.py checks every code the code base writes has a label."""

from __future__ import annotations

from kechuang.web.i18n import register_messages, translate

#: action code → (Chinese, English)
ACTIONS: dict[str, tuple[str, str]] = {
    "carbon.evaluate": ("碳效评价", "Carbon efficiency evaluated"),
    "carbon.notify": ("发送碳效预警", "Carbon alerts sent"),
    "demo.generate": ("生成演示数据", "Demo data generated"),
    "dispatch.assign": ("指派科技特派员", "Commissioner assigned"),
    "dispatch.confirm": ("确认派单", "Dispatch confirmed"),
    "dispatch.redispatch": ("重新派单", "Dispatched again"),
    "dispatch.run": ("运行特派员派单", "Dispatch run"),
    "enterprise.list": ("查看企业列表", "Enterprise list viewed"),
    "enterprise.read": ("查看企业详情", "Enterprise record viewed"),
    "enterprise.profile": ("查看企业画像", "Enterprise profile viewed"),
    "enterprise.whatif": ("企业积分模拟测算", "Enterprise what-if computed"),
    "finance.bank_view": ("金融机构查看企业数据", "Bank viewed enterprise data"),
    "finance.consent": ("企业授权金融机构查看数据", "Enterprise consent given"),
    "finance.consent_revoke": ("企业撤回数据授权", "Enterprise consent withdrawn"),
    "finance.consultation": ("登记融资洽谈", "Consultation recorded"),
    "finance.export_quarter": ("导出季度融资报表", "Quarterly report exported"),
    "finance.loan_default": ("登记贷款违约", "Loan default recorded"),
    "finance.match": ("运行金融产品匹配", "Finance matching run"),
    "finance.month_close": ("关闭月度填报", "Month closed"),
    "finance.month_open": ("开启月度填报", "Month opened"),
    "finance.need_edit": ("修改融资需求", "Financing need edited"),
    "finance.need_submit": ("提交融资需求", "Financing need submitted"),
    "finance.need_withdraw": ("撤回融资需求", "Financing need withdrawn"),
    "finance.outcome": ("登记融资结果", "Financing outcome recorded"),
    "finance.product_review": ("审核金融产品", "Finance product reviewed"),
    "finance.product_submit": ("提交金融产品", "Finance product submitted"),
    "finance.product_withdraw": ("撤回金融产品", "Finance product withdrawn"),
    "finance.recovery": ("登记风险补偿追偿", "Recovery recorded"),
    "finance.remind": ("发送融资提醒", "Reminder sent"),
    "api_token.create": ("创建接口令牌", "API token created"),
    "api_token.use": ("使用接口令牌", "API token used"),
    "api_token.revoke": ("吊销接口令牌", "API token revoked"),
    "import.commit": ("导入数据入库", "Import committed"),
    "import.undone": ("撤销中断的导入", "Interrupted import undone"),
    "import.upload": ("上传导入文件（后台任务）", "Import file uploaded (job)"),
    "import.dry_run_read": ("预检导入文件", "Import file checked"),
    "import.duplicate": ("重复导入被拒绝", "Duplicate import refused"),
    "import.reject": ("导入文件被拒绝", "Import refused"),
    "import.rollback": ("撤销导入批次", "Import rolled back"),
    "import_template.save": ("修改导入模板", "Import template saved"),
    "job.submit": ("提交后台任务", "Job submitted"),
    "ledger.export_reconciliation": ("导出资金对账表", "Reconciliation exported"),
    "ledger.open_budget": ("设立预算", "Budget opened"),
    "ledger.pay": ("拨付资金", "Payment made"),
    "ledger.pay_batch": ("批量拨付资金", "Batch payment made"),
    "ledger.receive": ("资金收回入账", "Money received back"),
    "ledger.reverse": ("冲销一笔资金", "Entry reversed"),
    "lists.export_payments": ("导出名单兑现表", "List payments exported"),
    "lists.publish": ("发布名单", "List published"),
    "lists.withdraw": ("撤回名单", "List withdrawn"),
    "matching.achievement.create": ("发布科技成果", "Achievement posted"),
    "matching.achievement.update": ("修改科技成果", "Achievement edited"),
    "matching.achievement.visibility": ("调整成果公开范围", "Achievement visibility changed"),
    "matching.commissioner.create": ("登记科技特派员", "Commissioner registered"),
    "matching.cooperation.create": ("登记合作", "Cooperation recorded"),
    "matching.cooperation.next_step": ("推进合作", "Cooperation moved on"),
    "matching.demand.create": ("发布技术需求", "Demand posted"),
    "matching.demand.status": ("变更需求状态", "Demand state changed"),
    "matching.demand.update": ("修改技术需求", "Demand edited"),
    "matching.expert.profile": ("更新专家资料", "Expert profile updated"),
    "matching.index.rebuild": ("重建对接索引", "Matching index rebuilt"),
    "matching.match.mark": ("标记对接结果", "Match marked"),
    "matching.position.create": ("发布岗位", "Position posted"),
    "matching.service_log.create": ("登记服务记录", "Service logged"),
    "matching.service_request.create": ("提交服务请求", "Service requested"),
    "matching.synonyms.delete": ("删除同义词", "Synonyms deleted"),
    "matching.synonyms.save": ("保存同义词", "Synonyms saved"),
    "matching.talent.apply": ("申请人才岗位", "Applied for a position"),
    "matching.talent.create": ("发布人才需求", "Talent need posted"),
    "monitoring.create_task": ("下达重点任务", "Key task created"),
    "monitoring.export_dispatch": ("导出任务督办表", "Task follow-up exported"),
    "monitoring.report": ("报送任务进展", "Task progress reported"),
    "monitoring.set_target": ("设定监测目标", "Monitoring target set"),
    "policy.run": ("运行政策匹配", "Policy matching run"),
    "programs.application.approve_back": ("申报退回修改", "Application sent back"),
    "programs.application.report_followup": ("登记项目跟踪报告", "Follow-up report recorded"),
    "programs.application.submit": ("提交项目申报", "Application submitted"),
    "programs.call.create": ("新建申报通知", "Call created"),
    "programs.call.decide": ("作出立项决定", "Call decided"),
    "programs.call.gate_decide": ("作出阶段评审决定", "Stage gate decided"),
    "programs.milestone.submit": ("提交项目里程碑", "Milestone submitted"),
    "programs.program.create": ("新建科技计划", "Programme created"),
    "programs.type.copy": ("复制项目类型", "Programme type copied"),
    "programs.type.update": ("修改项目类型", "Programme type edited"),
    "push.applied": ("企业申报推送政策", "Pushed policy applied for"),
    "push.export": ("导出推送短信", "Push messages exported"),
    "push.generate": ("生成政策推送", "Policy pushes made"),
    "spark.export_facts": ("导出数据到 Parquet", "Facts exported to Parquet"),
    "push.granted": ("推送政策已兑现", "Pushed policy granted"),
    "push.batch_sent": ("审核并发送推送批次", "Push batch reviewed and sent"),
    "push.batch_discarded": ("整批放弃推送", "Push batch discarded"),
    "push.mute": ("企业屏蔽推送", "Pushes muted"),
    "push.notices": ("生成申报提醒", "Notices made"),
    "push.opened": ("企业阅读推送", "Push opened"),
    "push.program_open": ("推送申报通知", "Call pushed"),
    "push.unmute": ("企业恢复推送", "Pushes unmuted"),
    "review.application_read": ("专家查看申报材料", "Expert read an application"),
    "review.assigned": ("分配评审专家", "Reviewers assigned"),
    "review.conflict_declared": ("专家申报回避", "Conflict declared"),
    "review.decision_recorded": ("记录评审结论", "Review decision recorded"),
    "review.profile_updated": ("更新评审专家资料", "Reviewer profile updated"),
    "review.round_opened": ("开启评审轮次", "Review round opened"),
    "review.submitted": ("专家提交评分", "Review submitted"),
    "robustness.run": ("运行稳健性检验", "Robustness check run"),
    "scoring.run": ("运行积分测算", "Scoring run"),
    "session.login": ("登录", "Logged in"),
    "session.logout": ("退出登录", "Logged out"),
    "session.revoke_all": ("注销全部会话", "All sessions revoked"),
    "tiers.snapshot": ("生成梯队快照", "Tier snapshot taken"),
    "user.activate": ("启用账号", "Account activated"),
    "user.create": ("新建账号", "Account created"),
    "user.deactivate": ("停用账号", "Account deactivated"),
    "user.password_change": ("修改密码", "Password changed"),
    "user.password_reset": ("重置密码", "Password reset"),
    "user.totp_disable": ("关闭动态口令", "One-time codes turned off"),
    "user.totp_enable": ("启用动态口令", "One-time codes turned on"),
    "user.totp_start": ("开始设置动态口令", "One-time code set-up started"),
    "vouchers.add_service": ("登记创新券服务项目", "Voucher service added"),
    "vouchers.export_settlement": ("导出创新券结算表", "Voucher settlement exported"),
    "vouchers.issue": ("发放创新券", "Vouchers issued"),
    "vouchers.redeem": ("核销创新券", "Voucher redeemed"),
    "vouchers.register_provider": ("登记服务机构", "Provider registered"),
    "vouchers.set_provider_active": ("变更服务机构状态", "Provider state changed"),
    "vouchers.settle": ("结算创新券", "Vouchers settled"),
}

#: families of codes built at run time: prefix → (Chinese, English), ``{step}`` = the rest
FAMILIES: dict[str, tuple[str, str]] = {
    "programs.call.": ("申报通知状态变更：{step}", "Call moved on: {step}"),
    "programs.application.": ("申报状态变更：{step}", "Application moved on: {step}"),
    "programs.pay.": ("项目资金拨付：{step}", "Programme payment: {step}"),
    "monitoring.upload_": ("上传监测数据：{step}", "Monitoring data uploaded: {step}"),
}

#: the parts after a family's prefix, in words
STEPS: dict[str, tuple[str, str]] = {
    "open": ("发布", "opened"),
    "close": ("截止", "closed"),
    "request_review": ("提交评审", "sent to review"),
    "open_gate": ("开启阶段评审", "stage gate opened"),
    "approve": ("审核通过", "approved"),
    "reject": ("退回", "rejected"),
    "finish": ("结项", "finished"),
    "stop": ("中止", "stopped"),
    "fly": ("赛马推进", "advanced"),
    "check_pass": ("形式审查通过", "formal check passed"),
    "check_fail": ("形式审查未通过", "formal check failed"),
    "contract": ("签订合同", "contract signed"),
    "accept": ("验收", "accepted"),
    "terminate": ("终止", "terminated"),
    "grant": ("立项资助", "grant"),
    "tranche": ("分期拨付", "tranche"),
    "post_subsidy": ("后补助", "post-subsidy"),
    "pre_payment": ("预拨", "advance"),
    "values": ("指标值", "values"),
    "targets": ("目标值", "targets"),
}

register_messages({f"admin.action.{code}": pair for code, pair in ACTIONS.items()})


def action_label(code: str, locale: str = "zh") -> str:
    """The action in words (the code itself for a code nobody labelled)."""
    key = f"admin.action.{code}"
    text = translate(key, locale)
    if text != key:
        return text
    i = 1 if locale == "en" else 0
    for prefix, pair in FAMILIES.items():
        if code.startswith(prefix):
            step = code[len(prefix):]
            return pair[i].format(step=STEPS.get(step, (step, step))[i])
    return code
