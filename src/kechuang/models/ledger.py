"""The append-only ledger, budgets, innovation vouchers and service providers."""

from __future__ import annotations

from kechuang.models.base import Base  # noqa: F401
