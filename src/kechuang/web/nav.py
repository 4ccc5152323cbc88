"""The navigation bar as data: each capability package registers its own links (with the
roles that see them) when its views module is imported, so adding a page never means
editing a shared template. ``_nav.html`` renders :func:`links_for` the current actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NavLink:
    href: str
    label_key: str  # an i18n key
    roles: frozenset[str]
    order: int


_LINKS: dict[str, NavLink] = {}


def register(href: str, label_key: str, roles: set[str] | frozenset[str], order: int) -> None:
    """Add (or replace) the link to ``href``; ``order`` places it in the bar (lower first)."""
    _LINKS[href] = NavLink(href, label_key, frozenset(roles), order)


def links_for(actor: Any) -> list[NavLink]:
    role = getattr(actor, "role", None) if actor is not None else None
    if role is None or not getattr(actor, "is_authenticated", False):
        role = "public"
    return sorted((link for link in _LINKS.values() if role in link.roles),
                  key=lambda link: (link.order, link.href))


# the foundation's pages
register("/enterprises", "nav.enterprises", {"bureau_admin", "bureau_staff"}, 10)
register("/enterprises/me", "nav.my_enterprise", {"enterprise"}, 10)
register("/imports", "nav.imports", {"bureau_admin", "bureau_staff", "department"}, 20)
register("/import-templates", "nav.templates", {"bureau_admin", "bureau_staff", "department"}, 21)
register("/policies", "policy.title", {"bureau_admin", "bureau_staff"}, 40)
register("/audit", "nav.audit", {"bureau_admin"}, 90)
register("/users", "nav.users", {"bureau_admin"}, 91)
