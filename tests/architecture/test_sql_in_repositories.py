"""SQL lives in repositories; a package's repository is private; facts are read through the
facts package (docs/architecture.md, "Where SQL lives"). An AST walk of src/kechuang — see
tests/architecture/sqlscan.py for what counts as SQL and which modules may hold it; run
``.venv/bin/python -m tests.architecture.sqlscan`` to list every finding."""

from __future__ import annotations

import pytest

from tests.architecture.sqlscan import Finding, scan, scan_source


def _report(findings: list[Finding], rule: str) -> str:
    lines = [str(f) for f in findings if f.rule == rule]
    return f"{len(lines)} finding(s):\n  " + "\n  ".join(lines)


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    return scan()


def test_sql_only_in_repositories(findings: list[Finding]) -> None:
    bad = [f for f in findings if f.rule == "sql"]
    assert not bad, _report(bad, "sql")


def test_no_package_imports_another_packages_repository(findings: list[Finding]) -> None:
    bad = [f for f in findings if f.rule == "repo-import"]
    assert not bad, _report(bad, "repo-import")


def test_only_the_facts_package_reads_the_fact_table(findings: list[Finding]) -> None:
    bad = [f for f in findings if f.rule == "fact"]
    assert not bad, _report(bad, "fact")


# ------------------------------------------------------------ the scanner itself
SERVICE = '''
from sqlalchemy import func, select, update as sa_update
import sqlalchemy as sa
from kechuang.models import Enterprise, Fact
from kechuang.scoring import repository as scoring_repo
from kechuang.policy.repository import read_results


def count(session):
    return session.scalar(select(func.count()).select_from(Enterprise))


def touch(session, conn):
    session.execute(sa_update(Enterprise).values(name="x"))
    conn.exec_driver_sql("VACUUM")
    session.add(Enterprise())
    sa.select(Enterprise.id)
    Enterprise.__table__.insert()


def not_sql(options, s):
    return options.get("x"), s.get("y"), {"a": 1}.update({})
'''


def test_scanner_finds_each_kind_of_statement_and_import() -> None:
    found = scan_source("lists/service.py", SERVICE)
    sql = sorted((f.line, f.what.split("(", 2)[1]) for f in found if f.rule == "sql")
    whats = [w for _, w in sql]
    for expected in ("session.scalar", "select", "func.count", "session.execute",
                     "sa_update", "conn.exec_driver_sql", "session.add", "sa.select",
                     "__table__.insert"):
        assert any(w.startswith(expected) for w in whats), (expected, whats)
    # dict.get / dict.update and a variable named ``s`` are not SQL
    assert not any(f.line >= 21 for f in found if f.rule == "sql"), sql
    assert {f.what.split("(")[1].split(")")[0] for f in found if f.rule == "repo-import"} == {
        "kechuang.scoring.repository", "kechuang.policy.repository"}
    assert [f.line for f in found if f.rule == "fact"] == [4]
    message = str(next(f for f in found if f.rule == "sql"))
    assert message.startswith("src/kechuang/lists/service.py:")
    assert "lists/repository.py" in message


def test_repositories_and_the_same_package_are_allowed() -> None:
    assert scan_source("lists/repository.py", SERVICE.replace(
        "from kechuang.models import Enterprise, Fact", "from kechuang.models import Enterprise")
    ) == [f for f in scan_source("lists/repository.py", SERVICE) if f.rule == "repo-import"]
    own = "from kechuang.lists import repository as repo\nfrom kechuang.lists.repository import x\n"
    assert scan_source("lists/views.py", own) == []
    assert scan_source("facts/service.py", "from kechuang.models import Fact\n") == []
