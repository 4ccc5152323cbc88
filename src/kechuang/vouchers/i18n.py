"""UI strings of the voucher pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "vouchers.title": ("科技创新券", "Innovation vouchers"),
    "vouchers.hint": ("按创新券政策测算结果发放；服务机构凭发票兑付，按比例抵扣、以券面额封顶，"
                      "经资金台账拨付。",
                      "Issued by the voucher policy's run; providers redeem against invoices at a "
                      "covered share capped at the face value, paid through the ledger."),
    "vouchers.summary": ("年度汇总", "Year summary"),
    "vouchers.issued": ("已发放", "Issued"),
    "vouchers.redeemed": ("已兑付", "Redeemed"),
    "vouchers.expired": ("已过期", "Expired"),
    "vouchers.budget": ("年度预算（元）", "Annual budget (CNY)"),
    "vouchers.remaining": ("预算余额（元）", "Budget left (CNY)"),
    "vouchers.providers": ("服务机构", "Service providers"),
    "vouchers.col.code": ("券号", "Code"),
    "vouchers.col.holder": ("持券企业", "Holder"),
    "vouchers.col.amount": ("券面额（元）", "Face value (CNY)"),
    "vouchers.col.share": ("抵扣比例", "Covered share"),
    "vouchers.col.until": ("有效期至", "Valid until"),
    "vouchers.col.status": ("状态", "Status"),
    "vouchers.col.redeemed": ("兑付金额（元）", "Redeemed (CNY)"),
    "vouchers.col.provider": ("服务机构", "Provider"),
    "vouchers.col.kind": ("类型", "Type"),
    "vouchers.col.services": ("服务项目数", "Services"),
    "vouchers.col.unsettled": ("待结算（元）", "Unsettled (CNY)"),
    "vouchers.status.issued": ("可使用", "Usable"),
    "vouchers.status.redeemed": ("已兑付", "Redeemed"),
    "vouchers.status.expired": ("已过期", "Expired"),
    "vouchers.kind.institute": ("科研院所", "Institute"),
    "vouchers.kind.enterprise": ("企业", "Enterprise"),
    "vouchers.none": ("暂无记录", "Nothing yet"),
    "vouchers.redeem": ("创新券兑付", "Redeem a voucher"),
    "vouchers.redeem.hint": ("输入持券企业出示的券号和统一社会信用代码，以及本机构开具的发票。",
                             "Enter the code and credit code the holder presents, "
                             "and your invoice."),
    "vouchers.redeem.not_provider": ("您的单位还不是已认定的服务机构，请联系科技局。",
                                     "Your organisation is not a registered provider; "
                                     "contact the bureau."),
    "vouchers.f.code": ("创新券编号", "Voucher code"),
    "vouchers.f.uscc": ("统一社会信用代码", "Credit code"),
    "vouchers.f.provider": ("服务机构", "Provider"),
    "vouchers.f.service": ("服务项目", "Service"),
    "vouchers.f.invoice_no": ("发票号码", "Invoice number"),
    "vouchers.f.invoice_amount": ("发票金额（元）", "Invoice amount (CNY)"),
    "vouchers.f.submit": ("兑付", "Redeem"),
    "vouchers.done": ("兑付成功：{amount} 元，台账款项 {entry}",
                      "Redeemed: {amount} CNY, ledger payment {entry}"),
    "vouchers.recent": ("最近兑付", "Recent redemptions"),
    "vouchers.p.title": ("服务机构与结算", "Providers and settlement"),
    "vouchers.p.hint": ("认定服务机构、登记其服务项目，并按服务机构汇总待结算的兑付、"
                        "生成结算单。返回",
                        "Register providers and their services, and settle each provider's "
                        "unsettled redemptions into a statement. Back to"),
    "vouchers.p.register": ("认定服务机构", "Register a provider"),
    "vouchers.p.code": ("机构代码", "Organisation code"),
    "vouchers.p.code.hint": ("科研院所填院所代码（可从列表选择），企业填统一社会信用代码。",
                             "An institute's code (pick from the list) or an enterprise's "
                             "unified social credit code."),
    "vouchers.p.contact": ("联系人及电话", "Contact"),
    "vouchers.p.register.submit": ("认定", "Register"),
    "vouchers.p.services": ("服务项目", "Services"),
    "vouchers.p.category": ("服务类别", "Category"),
    "vouchers.p.service_name": ("服务名称", "Service name"),
    "vouchers.p.add_service": ("添加服务", "Add service"),
    "vouchers.p.actions": ("结算", "Settlement"),
    "vouchers.p.settle": ("结算", "Settle"),
    "vouchers.p.nothing": ("无待结算", "Nothing to settle"),
    "vouchers.p.suspended": ("已暂停", "suspended"),
    "vouchers.p.reference": ("结算单备注", "Reference"),
    "vouchers.p.settlements": ("结算单", "Settlement statements"),
    "vouchers.p.statement": ("结算单号", "Statement"),
    "vouchers.p.count": ("兑付笔数", "Redemptions"),
    "vouchers.p.total": ("结算金额（元）", "Total (CNY)"),
    "vouchers.p.when": ("结算时间", "Settled at"),
    "vouchers.p.download": ("下载明细", "Download"),
    "vouchers.p.done.registered": ("已认定服务机构", "Provider registered"),
    "vouchers.p.done.service": ("已添加服务项目", "Service added"),
    "vouchers.p.done.settled": ("已生成结算单", "Settlement statement created"),
    "vouchers.p.link": ("服务机构与结算", "Providers and settlement"),
}

register_messages(MESSAGES)
