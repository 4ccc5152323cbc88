"""Security events, password history, second factor, API tokens."""

from __future__ import annotations

from kechuang.models.base import Base  # noqa: F401
