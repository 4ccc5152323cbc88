"""Finance reacts to the demo county being loaded (kit.events): banks' products, a year of
monthly needs, consultations, loans and outcomes, in the demo's own transaction."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from kechuang.finance.demo import load_demo
from kechuang.kit.events import subscribe


@subscribe("demo.county_loaded")
def on_demo(
    session: Session, seed: int, county_code: str, today: date, summary: dict[str, Any], **_: Any
) -> None:
    summary["finance"] = load_demo(session, seed=seed, county_code=county_code, today=today)
