"""Facts out to Parquet (issue 15, item 1): ``kechuang export facts --out DIR``.

One export reads one consistent snapshot of the database (``repository.begin_snapshot``)
and streams it to Parquet a chunk at a time, so memory is bounded by the chunk size, not by
the number of facts. It is all-or-nothing: files are written in a staging directory and
moved into place, and the manifest — the list of files a reader reads — is replaced last.

Incremental by batch: the manifest records every import batch exported so far. The next
export writes only the current facts of committed batches not in that list, as new part
files with the next export sequence number. A value a new batch changed is then in two
files: the old row (earlier ``export_seq``) and the new one. **The reader keeps, per
(enterprise_id, metric, period), the row with the highest ``export_seq``** — within one
export a key occurs once, since only current facts are written. The manifest also records,
per new batch, which earlier batches' values it superseded and how many. A batch rolled
back since the last export deletes facts and makes older ones current again, which appended
parts cannot express: the export then rewrites everything (a full export, and says why).
"""

from __future__ import annotations

import getpass
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.db import DECIMAL_SCALE, is_sqlite
from kechuang.kit import audit
from kechuang.kit.errors import InvalidInput
from kechuang.spark import engine, lake
from kechuang.spark import lake as lake_mod
from kechuang.spark import repository as repo

#: rows per chunk read from the database and written as one Parquet row group
DEFAULT_CHUNK = 200_000

READ_RULE = ("per (enterprise_id, metric, period) keep the row with the highest export_seq; "
             "read only the files listed here")


@dataclass
class ExportResult:
    out: str
    mode: str  # full | incremental | unchanged
    reason: str
    export_seq: int
    batches: list[int]
    facts: int = 0
    attributes: int = 0
    enterprises: int = 0
    files: list[str] = field(default_factory=list)
    supersedes: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _plan(manifest: dict[str, Any] | None, committed: list[int], full: bool
          ) -> tuple[str, str, list[int] | None]:
    """(mode, reason, batches to export — None: all committed)."""
    if manifest is None:
        return "full", "首次导出 first export", None
    if full:
        return "full", "--full", None
    done = {int(b) for b in manifest.get("batches", [])}
    gone = sorted(done - set(committed))
    if gone:
        return ("full", f"批次 {gone} 已回滚，全部重写 batches {gone} were rolled back since "
                        "the last export: rewritten in full", None)
    new = [b for b in committed if b not in done]
    if not new:
        return "unchanged", "没有新提交的批次 no batch committed since the last export", []
    return "incremental", f"新批次 new batches {new[0]}–{new[-1]}", new


def export_facts(session: Session, actor: Actor, out: Path, *, full: bool = False,
                 chunk: int = DEFAULT_CHUNK, now: datetime | None = None) -> ExportResult:
    """Export the current facts, attributes and enterprises visible to ``actor`` into
    ``out`` (module docstring). Raises :class:`InvalidInput` (Chinese and English) for a bad
    ``out``; on any failure nothing of this export is left behind."""
    if chunk < 1:
        raise InvalidInput("--chunk-rows 必须为正整数", "--chunk-rows must be positive")
    out = out.expanduser().absolute()
    manifest = lake.load_manifest(out)
    repo.begin_snapshot(session)
    committed = repo.committed_batches(session)
    mode, reason, todo = _plan(manifest, committed, full)
    previous = [] if mode == "full" or manifest is None else list(manifest.get("exports", []))
    seq = 1 if mode == "full" else int((manifest or {}).get("last_seq", 0)) + 1
    batches = committed if todo is None else todo
    result = ExportResult(out=str(out), mode=mode, reason=reason, export_seq=seq,
                          batches=list(batches))
    if mode == "unchanged":
        return result
    codes = repo.metric_codes(session)
    lo, hi = (batches[0], batches[-1]) if batches else (0, 0)
    part = f"part-{seq:05d}-b{lo}-b{hi}.parquet"
    if mode == "full":
        staging = lake.make_staging(out.parent, out.name)
    else:
        lake.discard_stale(out)
        staging = lake.make_staging(out, "export")
    try:
        schema = engine.fact_schema(DECIMAL_SCALE)
        facts = lake.PartWriter(staging, "facts", part, schema, partition="year")
        attrs = lake.PartWriter(staging, "attributes", part, schema, partition=None)
        try:
            for attributes, writer in ((False, facts), (True, attrs)):
                for rows in repo.stream_facts(session, actor, todo, attributes=attributes,
                                              chunk=chunk):
                    writer.write(engine.facts_table(rows, codes, seq, DECIMAL_SCALE))
        finally:
            new_files = facts.close() + attrs.close()
        result.facts, result.attributes = facts.rows, attrs.rows
        result.enterprises = lake.write_single(
            staging, "enterprises.parquet", engine.ENTERPRISE_SCHEMA,
            (engine.enterprises_table(rows)
             for rows in repo.stream_enterprises(session, actor, chunk=chunk)))
        result.files = new_files
        if mode == "incremental":
            result.supersedes = {str(new): {str(old): n for old, n in sorted(olds.items())}
                                 for new, olds in sorted(repo.superseded_by(session,
                                                                            batches).items())}
        at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        exports = [*previous, {"seq": seq, "at": at, "mode": mode, "reason": reason,
                               "batches": batches, "facts": result.facts,
                               "attributes": result.attributes, "files": new_files,
                               "supersedes": result.supersedes}]
        all_files = [f for e in exports for f in e["files"]]
        new_manifest = {
            "format": lake.FORMAT, "version": lake.VERSION,
            "backend": "sqlite" if is_sqlite(session) else "postgresql",
            "scope": actor.region_path,
            "exported_at": at, "last_seq": seq,
            "last_batch_id": max(committed) if committed else None,
            "batches": sorted({*(int(b) for b in (manifest or {}).get("batches", [])
                                 if mode != "full"), *batches}),
            "read_rule": READ_RULE,
            "files": {"facts": sorted(f for f in all_files if f.startswith("facts/")),
                      "attributes": sorted(f for f in all_files if f.startswith("attributes/")),
                      "enterprises": "enterprises.parquet"},
            "exports": exports,
        }
        if mode == "full":
            lake.write_manifest(staging, new_manifest)
            lake.publish_full(staging, out)
        else:
            lake.publish_parts(staging, out, [*new_files, "enterprises.parquet"])
            lake.write_manifest(out, new_manifest)
    except BaseException:
        lake.discard(staging)
        raise
    return result


def do_record_export(session: Session, actor: Actor, result: ExportResult) -> None:
    """The audit row of a finished export (a bulk read of enterprise data leaves a trace)."""
    audit.record(session, actor, "spark.export_facts", "parquet_export", result.export_seq,
                 after={k: v for k, v in result.as_dict().items()
                        if k not in ("files", "supersedes", "batches")}
                 | {"batches": len(result.batches)})


def check_current(session: Session, actor: Actor, lake: Path) -> dict[str, Any]:
    """The manifest of ``lake`` when it holds exactly the current facts a run over the
    database would read for ``actor`` (its scope, every committed batch); otherwise a clear
    error saying to export again. A run on a cluster reads the export, so a stale export
    would give a run that differs from the in-process one."""
    lake = lake.expanduser().absolute()
    manifest = lake_mod.load_manifest(lake)
    if manifest is None:
        raise InvalidInput(f"--lake {lake}：没有导出数据"
                           f"（请先运行 kechuang export facts --out {lake}）",
                           f"--lake {lake}: no export there")
    if manifest.get("scope") != actor.region_path:
        raise InvalidInput(f"--lake {lake}：导出的范围 {manifest.get('scope')} 与本次运行的范围 "
                           f"{actor.region_path} 不同",
                           f"--lake {lake}: exported for another scope")
    committed = set(repo.committed_batches(session))
    exported = {int(b) for b in manifest.get("batches", [])}
    if committed != exported:
        raise InvalidInput(f"--lake {lake}：导出不是最新的（数据库已提交的批次与导出不同），"
                           f"请先更新导出（kechuang export facts --out {lake}）",
                           f"--lake {lake}: the export is out of date; export again")
    return manifest


def default_lake() -> Path:
    """Where a cluster run exports when no ``--lake`` is given: a directory under the
    system's temporary directory, kept between runs so the next export is incremental."""
    try:
        who = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        who = "kechuang"
    return Path(tempfile.gettempdir()) / f"kechuang-lake-{who}"


def refresh_lake(session: Session, actor: Actor, lake: Path) -> ExportResult:
    """Bring the export in ``lake`` up to date (incremental; ``unchanged`` when nothing
    was committed since): what a cluster run does before it reads ``lake``. ``session``
    must be fresh (the export opens its snapshot with its first statement) and is used for
    nothing else (it streams with a server-side cursor on PostgreSQL): record the export
    with :func:`do_record_export` in the next unit of work, as ``kechuang export facts``
    does."""
    return export_facts(session, actor, lake)
