"""User-interface strings: Simplified Chinese first, English second.

Templates call ``_("key")``; a key missing from the catalogue renders as itself so that a
missing translation is visible rather than fatal (a test checks every key used exists).
"""

from __future__ import annotations

LOCALES = ("zh", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("科创 · 区域科技创新治理平台", "Kechuang · Regional Innovation Platform"),
    "app.short": ("科创", "Kechuang"),
    "nav.home": ("首页", "Home"),
    "nav.enterprises": ("企业库", "Enterprises"),
    "nav.imports": ("数据归集", "Data intake"),
    "nav.templates": ("导入模板", "Import templates"),
    "nav.audit": ("审计日志", "Audit log"),
    "nav.users": ("账号管理", "Accounts"),
    "nav.login": ("登录", "Log in"),
    "nav.logout": ("退出", "Log out"),
    "nav.my_enterprise": ("本企业", "My enterprise"),
    "nav.main": ("主导航", "Main navigation"),
    "nav.group.data": ("数据", "Data"),
    "nav.group.assess": ("评价", "Assess"),
    "nav.group.policy": ("政策", "Policy"),
    "nav.group.funding": ("资金", "Funding"),
    "nav.group.match": ("对接", "Matching"),
    "nav.group.watch": ("监测", "Monitor"),
    "nav.group.system": ("系统", "System"),
    "nav.group.account": ("账号", "Account"),
    "lang.switch": ("English", "中文"),
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.demo_hint": ("演示账号见 README；密码均为 demo-pass-2024",
                        "Demo accounts are in the README; every password is demo-pass-2024"),
    "home.welcome": ("欢迎", "Welcome"),
    "home.role": ("角色", "Role"),
    "home.region": ("辖区", "Region"),
    "home.counts": ("数据概况", "Data at a glance"),
    "common.search": ("搜索", "Search"),
    "common.filter": ("筛选", "Filter"),
    "common.reset": ("重置", "Reset"),
    "common.all": ("全部", "All"),
    "common.prev": ("上一页", "Previous"),
    "common.next": ("下一页", "Next"),
    "common.page": ("第 {page} / {pages} 页，共 {total} 条",
                    "Page {page} of {pages}, {total} in all"),
    "common.none": ("无", "None"),
    "common.yes": ("是", "Yes"),
    "common.unit.wan_yuan": ("万元", "10k yuan"),
    "common.unit.persons": ("人", "persons"),
    "common.unit.items": ("件", "items"),
    "common.unit.tonnes": ("t", "t"),
    "common.unit.tce": ("tce", "tce"),
    "common.paren_open": ("（", " ("),
    "common.paren_close": ("）", ")"),
    "common.no": ("否", "No"),
    "common.back": ("返回", "Back"),
    "common.submit": ("提交", "Submit"),
    "common.download": ("下载", "Download"),
    "common.time": ("时间", "Time"),
    "common.actions": ("操作", "Actions"),
    "error.title": ("出错了", "Something went wrong"),
    "error.not_found": ("页面或对象不存在", "Not found"),
    "error.forbidden": ("无权访问", "Forbidden"),
    "role.bureau_admin": ("科技局管理员", "Bureau administrator"),
    "role.bureau_staff": ("科技局工作人员", "Bureau staff"),
    "role.department": ("部门用户", "Department"),
    "role.enterprise": ("企业用户", "Enterprise"),
    "role.institute": ("高校院所", "Institute"),
    "role.expert": ("评审专家", "Expert"),
    "role.bank": ("金融机构", "Bank"),
    "role.public": ("公众", "Public"),
}


def register_messages(messages: dict[str, tuple[str, str]]) -> None:
    """Domain packages add their strings (at import of their views module); a key may be
    registered once only, so two packages cannot silently overwrite each other."""
    clash = set(messages) & set(MESSAGES)
    if clash:
        raise ValueError(f"i18n keys registered twice: {sorted(clash)}")
    MESSAGES.update(messages)


def translate(key: str, locale: str, **params: object) -> str:
    pair = MESSAGES.get(key)
    text = key if pair is None else pair[1 if locale == "en" else 0]
    return text.format(**params) if params else text
