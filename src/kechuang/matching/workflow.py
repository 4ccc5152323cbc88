"""Ranked matches for one record, with what people already did about each (marks).

- For a demand (its owner enterprise or the bureau): achievements, experts and institutes.
  Institutes are ranked by their best three achievement or expert scores (a lab with several
  fitting results ranks above one lucky hit).
- For an achievement (its owner or the bureau): open public demands, and enterprises — the
  ones behind matching public demands, plus, for the bureau only, enterprises in its scope
  whose industry the achievement's field serves (enterprise data is the bureau's to see).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.matching import repository as repo
from kechuang.matching.engine import Match, engine_of, matcher_for
from kechuang.matching.service import marks_of
from kechuang.models import Enterprise, Institute
from kechuang.models.matching import MatchMark


@dataclass
class Ranked:
    """An institute or enterprise ranked by its best matches. ``reasons`` are (kind, text)
    with kind ``achievement``, ``expert``, ``demand`` or ``industry`` (the page words them);
    ``why`` is ``related`` (``related`` records matched), ``published_demands`` or
    ``industry_fit``."""

    name: str
    id: int
    score: float
    reasons: list[tuple[str, str]]
    why: str = "related"
    related: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "score": round(self.score, 4),
                "reasons": [{"kind": k, "text": t} for k, t in self.reasons],
                "why": self.why, "related": self.related}


@dataclass
class DemandMatches:
    achievements: list[Match]
    experts: list[Match]
    institutes: list[Ranked]
    marks: dict[tuple[str, int], MatchMark] = field(default_factory=dict)
    title: str = ""  # the demand's, for the next steps when no match is strong

    @property
    def strong(self) -> bool:
        """Is any achievement or expert a strong match? When none is, the page says so and
        offers the next steps instead of ranking weak candidates."""
        return any(m.strong for m in (*self.achievements, *self.experts))

    def as_dict(self) -> dict[str, Any]:
        def with_mark(kind: str, d: dict[str, Any]) -> dict[str, Any]:
            m = self.marks.get((kind, d["id"]))
            return {**d, "mark": None if m is None else
                    {"status": m.status, "reason_code": m.reason_code}}

        return {"strong": self.strong,
                "achievements": [with_mark("achievement", m.as_dict())
                                 for m in self.achievements],
                "experts": [with_mark("expert", m.as_dict()) for m in self.experts],
                "institutes": [with_mark("institute", r.as_dict()) for r in self.institutes]}


@dataclass
class AchievementMatches:
    demands: list[Match]
    enterprises: list[Ranked]
    title: str = ""  # the achievement's, for the next steps when no match is strong

    @property
    def strong(self) -> bool:
        return any(m.strong for m in self.demands)

    def as_dict(self) -> dict[str, Any]:
        return {"strong": self.strong, "demands": [m.as_dict() for m in self.demands],
                "enterprises": [r.as_dict() for r in self.enterprises]}


def demand_query(title: str, description: str, targets: str) -> str:
    return f"{title}\n{description}\n{targets}"


def for_demand(session: Session, actor: Actor, demand_id: int, k: int = 10) -> DemandMatches:
    demand = repo.get_demand(session, actor, demand_id, manage=True)
    m = matcher_for(engine_of(session))
    query = demand_query(demand.title, demand.description, demand.targets)
    opts = {"industry_code": demand.industry_code, "region_code": demand.region_code}
    achievements = m.search("achievement", query, k=max(k, 30), **opts)  # type: ignore[arg-type]
    experts = m.search("expert", query, k=max(k, 30), **opts)  # type: ignore[arg-type]
    per_inst: dict[int, list[tuple[float, tuple[str, str]]]] = defaultdict(list)
    for hit in achievements:
        if hit.owner_kind == "institute" and hit.owner_id is not None:
            per_inst[hit.owner_id].append((hit.score, ("achievement", hit.title)))
    for hit in experts:
        if hit.owner_id is not None:
            per_inst[hit.owner_id].append((hit.score, ("expert", hit.title)))
    names = repo.names_of(session, Institute, list(per_inst))
    institutes = []
    for inst_id, items in per_inst.items():
        items.sort(key=lambda t: -t[0])
        institutes.append(Ranked(names.get(inst_id, str(inst_id)), inst_id,
                                 sum(s for s, _ in items[:3]), [r for _, r in items[:3]],
                                 "related", len(items)))
    institutes.sort(key=lambda r: (-r.score, r.id))
    return DemandMatches(achievements[:k], experts[:k], institutes[:k],
                         marks_of(session, demand.id), demand.title)


def for_achievement(session: Session, actor: Actor, achievement_id: int,
                    k: int = 10) -> AchievementMatches:
    item = repo.get_achievement(session, actor, achievement_id, manage=True)
    m = matcher_for(engine_of(session))
    query = f"{item.title}\n{item.keywords}\n{item.abstract}"
    demands = m.search("demand", query, k=max(k, 30), tech_field=item.tech_field,
                       region_code=item.region_code)
    per_ent: dict[int, list[tuple[float, tuple[str, str]]]] = defaultdict(list)
    for hit in demands:
        if hit.owner_id is not None:
            per_ent[hit.owner_id].append((hit.score, ("demand", hit.title)))
    names = repo.names_of(session, Enterprise, list(per_ent))
    ranked = [Ranked(names.get(e, str(e)), e, sum(s for s, _ in sorted(v, reverse=True)[:3]),
                     [r for _, r in sorted(v, reverse=True)[:3]], "published_demands", len(v))
              for e, v in per_ent.items()]
    ranked.sort(key=lambda r: (-r.score, r.id))
    prefixes = m.fields.industry_prefixes(item.tech_field)
    if actor.is_bureau and prefixes and len(ranked) < k:
        taken = {r.id for r in ranked}
        rows = repo.enterprises_in_industries(session, actor, list(prefixes), k * 3)
        for ent_id, name, code in rows:
            if ent_id in taken:
                continue
            field_name = m.fields.name_of(item.tech_field)
            ranked.append(Ranked(name, ent_id, 0.0, [("industry", f"{code} · {field_name}")],
                                 "industry_fit"))
            if len(ranked) >= k:
                break
    return AchievementMatches(demands[:k], ranked[:k], item.title)
