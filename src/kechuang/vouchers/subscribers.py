"""Vouchers react to the demo county being loaded (kit.events): the voucher policy's run,
vouchers, providers, redemptions paid through the ledger, settlements — in the demo's own
transaction."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from kechuang.kit.events import subscribe
from kechuang.vouchers.demo import load_demo


@subscribe("demo.county_loaded")
def on_demo(session: Session, seed: int, county_code: str, today: date, summary: dict[str, Any],
            **_: Any) -> None:
    summary["vouchers"] = load_demo(session, seed=seed, county_code=county_code, today=today)
