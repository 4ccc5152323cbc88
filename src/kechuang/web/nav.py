"""The navigation bar as data: each capability package registers its own links (with the
roles that see them) when its views module is imported, so adding a page never means
editing a shared template. ``_nav.html`` renders :func:`links_for` the current actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the top-level groups of the bar, by task, in their order (at most eight: the bar must fit
#: one row at 1366 px in both languages). Each has an i18n label ``nav.group.<name>``.
GROUPS: tuple[str, ...] = ("data", "assess", "policy", "funding", "match", "watch", "system",
                           "account")
#: where a link registered without a group goes
DEFAULT_GROUP = "system"


@dataclass(frozen=True)
class NavLink:
    href: str
    label_key: str  # an i18n key
    roles: frozenset[str]
    order: int
    group: str = DEFAULT_GROUP


@dataclass(frozen=True)
class NavGroup:
    name: str
    label_key: str
    links: tuple[NavLink, ...]


_LINKS: dict[str, NavLink] = {}


def register(href: str, label_key: str, roles: set[str] | frozenset[str], order: int,
             group: str = DEFAULT_GROUP) -> None:
    """Add (or replace) the link to ``href`` in ``group`` (one of :data:`GROUPS`); ``order``
    places it within its group (lower first)."""
    if group not in GROUPS:
        raise ValueError(f"unknown navigation group {group!r}; one of {GROUPS}")
    _LINKS[href] = NavLink(href, label_key, frozenset(roles), order, group)


def _role(actor: Any) -> str:
    role = getattr(actor, "role", None) if actor is not None else None
    if role is None or not getattr(actor, "is_authenticated", False):
        return "public"
    return str(role)


def links_for(actor: Any) -> list[NavLink]:
    role = _role(actor)
    return sorted((link for link in _LINKS.values() if role in link.roles),
                  key=lambda link: (GROUPS.index(link.group), link.order, link.href))


def groups_for(actor: Any) -> list[NavGroup]:
    """The bar for ``actor``: the non-empty groups in :data:`GROUPS` order. A group with one
    link is shown as that link; the template renders the others as dropdown menus."""
    by_group: dict[str, list[NavLink]] = {}
    for link in links_for(actor):
        by_group.setdefault(link.group, []).append(link)
    return [NavGroup(name, f"nav.group.{name}", tuple(by_group[name]))
            for name in GROUPS if name in by_group]


# the foundation's pages
register("/enterprises", "nav.enterprises", {"bureau_admin", "bureau_staff"}, 10, "data")
register("/enterprises/me", "nav.my_enterprise", {"enterprise"}, 10, "data")
register("/imports", "nav.imports", {"bureau_admin", "bureau_staff", "department"}, 20, "data")
register("/import-templates", "nav.templates", {"bureau_admin", "bureau_staff", "department"}, 21,
         "data")
register("/policies", "policy.title", {"bureau_admin", "bureau_staff"}, 40, "policy")
register("/audit", "nav.audit", {"bureau_admin"}, 90, "system")
register("/users", "nav.users", {"bureau_admin"}, 91, "system")
