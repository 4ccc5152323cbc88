"""Leaf inputs that are not catalogue metrics: innovation points and other policies.

Points come from a scoring run (``kechuang.models.scoring.ScoreResult``): in file mode
(``policy eval --data``) as columns of the data file with these names, in database runs
from the latest published scoring run in the actor's scope (``kechuang.policy.points``).
They are per-enterprise values (like attributes): one value per enterprise, repeated on
each year's row or given on one row. An enterprise without a scoring result has them
missing — which makes a leaf that needs them ``insufficient_data`` naming them, never 0.

``policy('id')`` is a referenced policy's verdict as a three-valued truth: eligible → true,
ineligible → false, likely / borderline → undecided, insufficient_data → missing (naming
the referenced policy's missing inputs).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Atom:
    value_type: str  # number | bool | text
    name_zh: str
    name_en: str


POINTS_ATOMS: dict[str, Atom] = {
    "points": Atom("number", "创新积分", "innovation points"),
    "points_rank": Atom("number", "创新积分排名", "points rank"),
    "points_percentile": Atom("number", "创新积分百分位", "points percentile"),
    "points_tier": Atom("text", "创新积分榜单档次", "points list tier"),
    "points_veto": Atom("bool", "创新积分一票否决", "vetoed in the points list"),
}

#: the tier of an enterprise that has points but is on no list (NULL ``list_tier``)
NO_TIER = "none"


def atom_type(name: str) -> str | None:
    atom = POINTS_ATOMS.get(name)
    return atom.value_type if atom else None
