"""Fixtures of the profile tests: the county of ``data.py`` imported and scored by real
runs (``kechuang.scoring.service.do_score_run``) for 2023 and 2024."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from kechuang.db import unit_of_work
from kechuang.scoring.service import do_score_run
from tests.ingest.helpers import user_actor
from tests.profile import data as d

SYSTEM = "zjg-points"


@dataclass
class County:
    engine: Engine
    values: dict[tuple[int, int], dict[str, float]]
    runs: dict[int, int]  # year → run id


def score(engine: Engine, year: int, system: str = SYSTEM, publish: bool = True) -> int:
    actor = user_actor(engine, "staff")
    with unit_of_work(engine) as s:
        run = do_score_run(s, actor, system, year)
        run.published = publish
        s.flush()
        return run.id


@pytest.fixture
def county(engine: Engine) -> County:
    values = d.import_all(engine)
    runs = {y: score(engine, y) for y in (2023, 2024)}
    return County(engine, values, runs)
