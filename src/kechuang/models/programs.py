"""Programs, calls, applications, attachments, challenges (揭榜挂帅/赛马), bids, gates, pre-research fund."""

from __future__ import annotations

from kechuang.models.base import Base  # noqa: F401
