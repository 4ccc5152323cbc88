"""Region and role scope, as SQL predicates. Every query over enterprises goes through here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, select, true

from kechuang.auth.actor import Actor
from kechuang.models import Enterprise, Region


def regions_in_scope(actor: Actor) -> ColumnElement[bool]:
    """Predicate on ``Region``: the actor's region subtree."""
    if actor.region_path == "/":
        return true()
    return Region.path.startswith(actor.region_path, autoescape=True)


def region_code_in_scope(actor: Actor, column: Any) -> ColumnElement[bool]:
    """Predicate on any region-code column: it lies in the actor's subtree."""
    if actor.region_path == "/":
        return true()
    return column.in_(select(Region.code).where(regions_in_scope(actor)))


def enterprise_visible(actor: Actor) -> ColumnElement[bool]:
    """Which enterprises the actor may read.

    Bureau roles: the region subtree. An enterprise account: itself only. Banks see only
    enterprises that consented to them and experts only those in applications assigned to
    them; neither exists yet, so both see none. Departments see their uploads, not
    enterprises; institutes and the public see no enterprise data.
    """
    if actor.is_bureau:
        return region_code_in_scope(actor, Enterprise.region_code)
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return Enterprise.id == actor.enterprise_id
    return false()


def region_in_scope(actor: Actor, region_path: str) -> bool:
    return actor.region_path == "/" or region_path.startswith(actor.region_path)
