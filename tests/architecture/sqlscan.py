"""The SQL-placement rules of docs/architecture.md, as an AST walk of src/kechuang.

Used by ``test_sql_in_repositories.py``; also runnable on its own to list every finding:

    .venv/bin/python -m tests.architecture.sqlscan

Rules:

1. **SQL lives in repositories.** Building a statement (``select``, ``insert``, ``update``,
   ``delete``, ``text``, ``union``, ``exists``, ``func.*``, ``Table.insert()`` …) or running
   one (``session.execute/scalar/scalars/get/add/add_all/merge/delete/query``,
   ``conn.exec_driver_sql``, ``pandas.read_sql``) happens only in a ``repository.py``, in
   ``db.py``, the migrations, the demo loader (the ``demo`` package and each package's
   ``demo.py``, which write the demo county's records), and the few modules in
   ``ALLOWED`` (each with its reason).
2. **A package's repository is private.** Only modules of the same package import it; other
   packages call its ``service`` functions.
3. **The facts package owns reading facts.** The ``Fact`` model is imported only by the
   facts package, by ingest's repository (which writes facts), the demo loader/generator and
   bootstrap (which seed them).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "kechuang"

#: sqlalchemy callables that build a statement
STATEMENT_BUILDERS = frozenset({
    "select", "insert", "update", "delete", "text", "union", "union_all", "except_",
    "intersect", "exists", "values", "lateral",
})
#: Session / Connection methods that run SQL (or stage rows to be written)
SESSION_METHODS = frozenset({
    "execute", "scalar", "scalars", "get", "get_one", "add", "add_all", "merge", "delete",
    "query", "exec_driver_sql", "bulk_insert_mappings", "bulk_update_mappings",
    "bulk_save_objects", "refresh",
})
#: receiver names that are a Session or Connection in this code base
SESSION_NAMES = frozenset({
    "session", "sess", "db", "conn", "connection", "bind", "engine", "uow",
    "_session",
})
#: Table methods that build statements (``Model.__table__.insert()``)
TABLE_METHODS = frozenset({"insert", "update", "delete", "select"})
#: pandas readers that run SQL
PANDAS_SQL = frozenset({"read_sql", "read_sql_query", "read_sql_table"})

#: modules (relative to src/kechuang) allowed to hold SQL besides repository.py, and why
ALLOWED: dict[str, str] = {
    "db.py": "engines, sessions, unit of work",
    "migrate.py": "Alembic, run programmatically",
    "bootstrap.py": "init: migrations, reference data and the first accounts",
    "kit/audit.py": "the one audit write every action shares (kit.audit.record)",
    "auth/scope.py": "the region-scope predicates (sub-selects) every repository composes",
}
ALLOWED_PREFIXES = ("migrations/", "models/", "demo/")
#: a package's demo records, written by the demo loader (``<pkg>/demo.py``)
DEMO_LOADERS = "demo.py"

#: who may import the Fact model (rule 3)
FACT_IMPORTERS = ("facts/", "ingest/repository.py", "demo/loader.py", "spark/repository.py",
                  "demo/generator.py", "bootstrap.py", "models/", "migrations/")


@dataclass(frozen=True)
class Finding:
    path: str  # relative to the repository root
    line: int
    rule: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def sql_allowed(rel: str) -> bool:
    """May the module at ``rel`` (relative to src/kechuang) hold SQL?"""
    return (rel.endswith("repository.py") or "/repository/" in f"/{rel}"
            or rel in ALLOWED or rel.startswith(ALLOWED_PREFIXES)
            or rel.rsplit("/", 1)[-1] == DEMO_LOADERS)


def package_of(rel: str) -> str:
    """``scoring/service.py`` → ``scoring``; top-level modules belong to no package."""
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else ""


def _receiver_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _Visitor(ast.NodeVisitor):
    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.sa_names: dict[str, str] = {}  # local name -> sqlalchemy callable
        self.sa_modules: set[str] = set()   # local names bound to sqlalchemy (modules)
        self.pandas: set[str] = set()
        self.sql: list[tuple[int, str]] = []
        self.repo_imports: list[tuple[int, str]] = []
        self.fact_imports: list[int] = []
        self.statements = 0  # outermost SQL calls (a select inside an execute counts once)
        self._depth = 0

    # imports -----------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            local = alias.asname or alias.name.split(".")[0]
            if alias.name == "sqlalchemy" or alias.name.startswith("sqlalchemy."):
                self.sa_modules.add(local)
            if alias.name == "pandas":
                self.pandas.add(local)
            self._check_repo_import(node.lineno, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        if node.level == 0 and (mod == "sqlalchemy" or mod.startswith("sqlalchemy.")):
            for alias in node.names:
                local = alias.asname or alias.name
                if alias.name in STATEMENT_BUILDERS or alias.name == "func":
                    self.sa_names[local] = alias.name
                elif alias.name in {"sql", "dialects"} or mod.startswith("sqlalchemy.dialects"):
                    self.sa_modules.add(local)
        if node.level == 0 and mod.startswith("kechuang."):
            self._check_repo_import(node.lineno, mod)
            for alias in node.names:
                self._check_repo_import(node.lineno, f"{mod}.{alias.name}")
            if mod.startswith("kechuang.models") and any(a.name == "Fact" for a in node.names):
                self.fact_imports.append(node.lineno)
        if node.level > 0:
            # relative imports: resolve against this module's package
            base = ["kechuang", *self.rel.split("/")[:-1]]
            base = base[: len(base) - (node.level - 1)]
            full = ".".join([*base, *(mod.split(".") if mod else [])])
            self._check_repo_import(node.lineno, full)
            for alias in node.names:
                self._check_repo_import(node.lineno, f"{full}.{alias.name}")
        self.generic_visit(node)

    def _check_repo_import(self, line: int, dotted: str) -> None:
        parts = dotted.split(".")
        if len(parts) >= 3 and parts[0] == "kechuang" and parts[2] == "repository":
            target = parts[1]
            if target != package_of(self.rel):
                self.repo_imports.append((line, dotted))

    # SQL -------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        before = len(self.sql)
        self._classify(node)
        is_sql = len(self.sql) > before
        if is_sql and self._depth == 0:
            self.statements += 1
        self._depth += is_sql
        self.generic_visit(node)
        self._depth -= is_sql

    def _classify(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Name) and f.id in self.sa_names and self.sa_names[f.id] != "func":
            self.sql.append((node.lineno, f"{f.id}(…)"))
        elif isinstance(f, ast.Attribute):
            recv = f.value
            name = _receiver_name(recv)
            # func.count(...), sa.func.count(...)
            if (isinstance(recv, ast.Name) and self.sa_names.get(recv.id) == "func") or (
                isinstance(recv, ast.Attribute) and recv.attr == "func"
                and isinstance(recv.value, ast.Name) and recv.value.id in self.sa_modules
            ):
                self.sql.append((node.lineno, f"func.{f.attr}(…)"))
            # sa.select(...), postgresql.insert(...)
            elif isinstance(recv, ast.Name) and recv.id in self.sa_modules and (
                f.attr in STATEMENT_BUILDERS
            ):
                self.sql.append((node.lineno, f"{recv.id}.{f.attr}(…)"))
            # session.execute(...)
            elif f.attr in SESSION_METHODS and name in SESSION_NAMES:
                self.sql.append((node.lineno, f"{name}.{f.attr}(…)"))
            # Model.__table__.insert()
            elif f.attr in TABLE_METHODS and name == "__table__":
                self.sql.append((node.lineno, f"__table__.{f.attr}(…)"))
            # pd.read_sql(...)
            elif f.attr in PANDAS_SQL and isinstance(recv, ast.Name) and recv.id in self.pandas:
                self.sql.append((node.lineno, f"{recv.id}.{f.attr}(…)"))


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), path


def scan_source(rel: str, source: str) -> list[Finding]:
    """The findings of one module's source (``rel`` relative to src/kechuang)."""
    out: list[Finding] = []
    v = _Visitor(rel)
    v.visit(ast.parse(source, filename=rel))
    shown = f"src/kechuang/{rel}"
    if not sql_allowed(rel):
        for line, what in v.sql:
            out.append(Finding(shown, line, "sql", (
                f"SQL outside a repository ({what}) — move the statement into a function "
                f"of {package_of(rel) or 'the owning package'}/repository.py and call that "
                "function here")))
    seen: set[tuple[int, str]] = set()
    for line, dotted in v.repo_imports:
        pkg = dotted.split(".")[1]
        if (line, pkg) in seen:
            continue
        seen.add((line, pkg))
        out.append(Finding(shown, line, "repo-import", (
            f"imports another package's repository (kechuang.{pkg}.repository) — call a "
            f"function of kechuang.{pkg}.service instead (add one there if missing)")))
    if not rel.startswith(FACT_IMPORTERS) and rel not in FACT_IMPORTERS:
        for line in v.fact_imports:
            out.append(Finding(shown, line, "fact", (
                "imports the Fact model — read facts through kechuang.facts.service "
                "(the facts package owns reading facts, with scope)")))
    return out


def scan() -> list[Finding]:
    """Every finding of the three rules over src/kechuang."""
    out: list[Finding] = []
    for rel, path in modules():
        out.extend(scan_source(rel, path.read_text(encoding="utf-8")))
    return out


def count_sql() -> tuple[int, int, int]:
    """(statements outside allowed modules, all statements, files with findings)."""
    total = outside = 0
    files: set[str] = set()
    for rel, path in modules():
        if rel.startswith(ALLOWED_PREFIXES):
            continue
        v = _Visitor(rel)
        v.visit(ast.parse(path.read_text(encoding="utf-8")))
        total += v.statements
        if not sql_allowed(rel) and v.sql:
            outside += v.statements
            files.add(rel)
    return outside, total, len(files)


if __name__ == "__main__":
    findings = scan()
    for f in findings:
        print(f)
    by_file: dict[str, int] = {}
    for f in findings:
        by_file[f.path] = by_file.get(f.path, 0) + 1
    print()
    for p, n in sorted(by_file.items(), key=lambda kv: -kv[1]):
        print(f"{n:4d} {p}")
    outside, total, nfiles = count_sql()
    print(f"\nSQL statements outside repositories: {outside} of {total}, in {nfiles} files; "
          f"findings: {len(findings)}")
