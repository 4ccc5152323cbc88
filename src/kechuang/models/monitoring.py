"""Regional indicators, targets, task lists and carbon-efficiency grades."""

from __future__ import annotations

from kechuang.models.base import Base  # noqa: F401
