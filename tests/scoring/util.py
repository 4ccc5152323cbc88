"""Helpers for the scoring tests: run a system (text) on a pandas frame with DuckDB."""

from __future__ import annotations

import textwrap

import ibis
import pandas as pd

from kechuang.scoring import engine, system


def load_text(text: str, filename: str = "t.yaml") -> system.System:
    return system.loads(textwrap.dedent(text), filename)


def run(sys_text: str | system.System, df: pd.DataFrame, year: int | None = None
        ) -> tuple[pd.DataFrame, pd.DataFrame, engine.Result]:
    s = load_text(sys_text) if isinstance(sys_text, str) else sys_text
    con = ibis.duckdb.connect()
    t = con.create_table("data", df)
    r = engine.compute(s, t, year=year, con=con)
    scores = r.scores.execute().set_index(s.spec.unit.id)
    trace = r.trace.execute()
    return scores, trace, r


def one_indicator(node: str, defaults: str = "", groups: str = "[]") -> str:
    """A system with a single indicator ``x`` (column ``x``) under group ``total``."""
    body = textwrap.indent(textwrap.dedent(node).strip(), " " * 8)
    dflt = textwrap.indent(textwrap.dedent(defaults).strip(), "  ") if defaults else ""
    return (
        "id: t\nname: 测试\nversion: '1'\neffective_from: 2020-01-01\n"
        f"unit: {{id: uid}}\ngroups: {groups}\ncolumns: {{x: {{}}, y: {{}}}}\n"
        + (f"defaults:\n{dflt}\n" if dflt else "")
        + "tree:\n  - code: total\n    children:\n      - code: x\n"
        + body + "\n"
    )
