"""UI strings of the login's second step and of one's own account page."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "auth.nav.account": ("我的账号", "My account"),
    "auth.totp.title": ("动态口令验证", "One-time code"),
    "auth.totp.enrol_title": ("绑定动态口令", "Set up a one-time code"),
    "auth.totp.enrol_help": (
        "科技局管理员须使用动态口令（第二因素）。请用身份验证器应用（如 Google Authenticator、"
        "Microsoft Authenticator）扫描或手动输入下面的密钥，然后输入应用显示的6位数字。",
        "Bureau administrators must use a one-time code (second factor). Add the key below to "
        "an authenticator app (Google Authenticator, Microsoft Authenticator …) and type the "
        "6-digit code it shows."),
    "auth.totp.secret": ("密钥", "Key"),
    "auth.totp.uri": ("配置链接（otpauth）", "Set-up link (otpauth)"),
    "auth.totp.code": ("6位动态口令", "6-digit code"),
    "auth.totp.expired": ("登录已过期，请重新输入用户名和密码",
                          "The login has expired; enter your user name and password again"),
    "auth.totp.submit": ("验证", "Verify"),
    "auth.totp.help": ("请输入身份验证器应用显示的6位数字", "Type the 6-digit code of your "
                       "authenticator app"),
    "auth.account.title": ("我的账号", "My account"),
    "auth.account.password": ("修改密码", "Change password"),
    "auth.account.current": ("当前密码", "Current password"),
    "auth.account.new": ("新密码", "New password"),
    "auth.account.confirm": ("再次输入新密码", "New password again"),
    "auth.account.policy": (
        "至少{n}位；不能全是空格、不能是同一字符重复，也不能是常见或已泄露的密码。可以使用中文、"
        "空格和任何符号。",
        "At least {n} characters; not only blanks, not one repeated character, not a common or "
        "leaked password. Chinese characters, spaces and any symbol are welcome."),
    "auth.account.save": ("保存新密码", "Save the new password"),
    "auth.account.changed": ("密码已修改，其他设备上的 {n} 个会话已注销",
                             "Password changed; {n} sessions on other devices were ended"),
    "auth.account.mismatch": ("两次输入的新密码不一致", "The two new passwords differ"),
    "auth.account.totp": ("动态口令（第二因素）", "One-time code (second factor)"),
    "auth.account.totp_on": ("已启用", "Enabled"),
    "auth.account.totp_off": ("未启用", "Not enabled"),
    "auth.account.totp_start": ("开始绑定", "Set up"),
    "auth.account.totp_confirm": ("确认绑定", "Confirm"),
    "auth.account.totp_disable": ("停用动态口令", "Turn off"),
    "auth.account.totp_enabled": ("动态口令已启用", "One-time codes are now required"),
    "auth.account.totp_disabled": ("动态口令已停用", "One-time codes are turned off"),
    "auth.account.password_again": ("请输入当前密码", "Your current password"),
    # API tokens of department systems (issue 11 item 9)
    "auth.tokens.nav": ("API 令牌", "API tokens"),
    "auth.tokens.title": ("API 令牌（部门系统接入）", "API tokens (department systems)"),
    "auth.tokens.help": (
        "部门系统用令牌调用 /api/ 接口（请求头 Authorization: Bearer 令牌），以所属账号的角色和"
        "辖区行事；令牌只能用于接口、不能打开页面，到期自动失效，撤销立即生效，每次使用都记入审计"
        "日志。不能为科技局管理员账号创建令牌。",
        "Department systems call the /api/ endpoints with a token (header Authorization: Bearer "
        "<token>) and act with its account's role and region; a token opens the API only, never "
        "pages, expires, is refused at once when revoked, and every use is in the audit log. "
        "No token may act as a bureau administrator."),
    "auth.tokens.none": ("暂无令牌", "No tokens yet"),
    "auth.tokens.prefix": ("令牌前缀", "Prefix"),
    "auth.tokens.name": ("用途", "Purpose"),
    "auth.tokens.account": ("账号", "Account"),
    "auth.tokens.state": ("状态", "State"),
    "auth.tokens.state.active": ("有效", "Active"),
    "auth.tokens.state.expired": ("已过期", "Expired"),
    "auth.tokens.state.revoked": ("已撤销", "Revoked"),
    "auth.tokens.expires": ("到期时间", "Expires"),
    "auth.tokens.last_used": ("最近使用", "Last used"),
    "auth.tokens.never": ("从未使用", "Never"),
    "auth.tokens.revoke": ("撤销", "Revoke"),
    "auth.tokens.confirm_revoke": ("撤销后使用此令牌的系统将立即无法访问，确定撤销？",
                                   "Systems using this token lose access at once. Revoke it?"),
    "auth.tokens.create": ("创建令牌", "Create a token"),
    "auth.tokens.days": ("有效天数（最长 {n} 天）", "Days valid (at most {n})"),
    "auth.tokens.created": ("令牌已创建。请立即复制并交给部门系统——它只显示这一次，系统不保存"
                            "原文：", "Token created. Copy it now and give it to the department's "
                            "system — it is shown this once and is not stored:"),
    "auth.tokens.revoked": ("令牌 {prefix}… 已撤销", "Token {prefix}… revoked"),
}

register_messages(MESSAGES)
