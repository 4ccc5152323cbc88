"""Technology finance: products, needs, consents, consultations, loans, risk pool."""

from __future__ import annotations

from kechuang.models.base import Base  # noqa: F401
