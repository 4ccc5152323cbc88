"""UI strings of the administration pages (audit log, accounts)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "admin.audit.title": ("审计日志", "Audit log"),
    "admin.audit.action": ("操作", "Action"),
    "admin.audit.user": ("操作人", "User"),
    "admin.audit.from": ("起始日期", "From"),
    "admin.audit.to": ("截止日期", "To"),
    "admin.audit.object": ("对象", "Object"),
    "admin.audit.region": ("区域", "Region"),
    "admin.audit.change": ("变更内容", "Change"),
    "admin.audit.ip": ("IP", "IP"),
    "admin.audit.total": ("共 {total} 条记录", "{total} events"),
    "admin.audit.empty": ("没有符合条件的审计记录", "No event matches"),
    "admin.audit.tz_note": ("时间为北京时间（Asia/Shanghai）",
                            "Times are Beijing time (Asia/Shanghai)"),
    "admin.users.title": ("账号管理", "Accounts"),
    "admin.users.create": ("新建账号", "New account"),
    "admin.users.username": ("用户名", "Username"),
    "admin.users.display_name": ("显示名称", "Display name"),
    "admin.users.password": ("初始密码", "Initial password"),
    "admin.users.role": ("角色", "Role"),
    "admin.users.region": ("所属区域", "Region"),
    "admin.users.department": ("部门（部门用户必填）", "Department (for department accounts)"),
    "admin.users.enterprise": ("企业信用代码（企业用户必填）",
                               "Enterprise credit code (enterprise accounts)"),
    "admin.users.institute": ("高校院所（高校院所用户必填）", "Institute (institute accounts)"),
    "admin.users.expert": ("专家（专家用户必填）", "Expert (expert accounts)"),
    "admin.users.bank": ("金融机构（金融机构用户必填）", "Bank (bank accounts)"),
    "admin.users.party": ("关联主体", "Linked party"),
    "admin.users.status": ("状态", "Status"),
    "admin.users.active": ("正常", "active"),
    "admin.users.inactive": ("已停用", "deactivated"),
    "admin.users.last_login": ("最近登录", "Last login"),
    "admin.users.created_at": ("创建时间", "Created"),
    "admin.users.revoke": ("注销全部会话", "Revoke sessions"),
    "admin.users.deactivate": ("停用", "Deactivate"),
    "admin.users.activate": ("启用", "Activate"),
    "admin.users.confirm_deactivate": ("停用后该账号立即无法使用，确定吗？",
                                       "The account stops working at once. Continue?"),
    "admin.users.created": ("已创建账号：{username}", "Account created: {username}"),
    "admin.users.revoked": ("已注销 {username} 的 {n} 个会话",
                            "Revoked {n} sessions of {username}"),
    "admin.users.deactivated": ("已停用账号：{username}", "Account deactivated: {username}"),
    "admin.users.activated": ("已启用账号：{username}", "Account activated: {username}"),
    "admin.users.none": ("—", "—"),
    "admin.users.total": ("共 {total} 个账号", "{total} accounts"),
}

register_messages(MESSAGES)
