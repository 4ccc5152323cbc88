"""Expert review: pool profiles, conflicts, assignments, reviews, decisions."""

from __future__ import annotations

from kechuang.models.base import Base  # noqa: F401
