"""The files of a Parquet export (docs/spark.md, "Export"): the output directory's checks,
the staging directory that makes an export all-or-nothing, writers that append one chunk at
a time (one open ``ParquetWriter`` per year partition: memory is one chunk, never the
table), and the manifest.

Layout under ``DIR``::

    _manifest.json                      written last, atomically (rename)
    enterprises.parquet                 master fields and cohort columns (rewritten each time)
    facts/year=YYYY/part-SSSSS-bLO-bHI.parquet   current yearly and monthly facts
    attributes/part-SSSSS-bLO-bHI.parquet        current attribute facts (period 0)

``SSSSS`` is the export's sequence number, ``LO``–``HI`` the range of import batches whose
facts the part holds. A reader reads the files the manifest lists, never a glob.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kechuang.db import DECIMAL_SCALE
from kechuang.kit.errors import InvalidInput
from kechuang.spark.engine import fact_schema

MANIFEST = "_manifest.json"
FORMAT = "kechuang.facts.parquet"
VERSION = 1


def _bad(out: Path, zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"导出目录 --out {out}：{zh}", f"--out {out}: {en}")


def load_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of a previous export in ``out`` (None: no previous export). Refuses a
    path that is a file, or a non-empty directory that is not an export — nothing is
    overwritten that this command did not write."""
    if out.exists() and not out.is_dir():
        raise _bad(out, "这是一个文件，不是目录", "is a file, not a directory")
    if not out.exists():
        if not out.parent.is_dir():
            raise _bad(out, f"上级目录 {out.parent} 不存在", f"parent {out.parent} does not exist")
        return None
    path = out / MANIFEST
    if not path.exists():
        if any(out.iterdir()):
            raise _bad(out, f"目录不为空，且没有 {MANIFEST}（不是 kechuang 的导出目录），"
                            "为避免覆盖其中的文件，拒绝写入",
                       f"directory is not empty and holds no {MANIFEST}: refusing to write")
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad(out, f"{MANIFEST} 无法读取（{exc}）", f"unreadable {MANIFEST}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _bad(out, f"{MANIFEST} 不是 kechuang 的导出清单", f"{MANIFEST} is not ours")
    return manifest


def make_staging(parent: Path, name: str) -> Path:
    """A fresh hidden directory in ``parent`` (same file system, so renames are atomic)."""
    staging = parent / f".{name}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        staging.mkdir()
    except OSError as exc:
        raise InvalidInput(f"导出目录 --out：无法在 {parent} 中写入（{exc.strerror or exc}）",
                           f"--out: cannot write in {parent}: {exc}") from exc
    return staging


def discard(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def discard_stale(out: Path) -> None:
    """Staging directories an earlier export left inside ``out`` when it was killed (never
    listed in the manifest, so never read)."""
    for path in out.glob(".export.tmp-*"):
        discard(path)


class PartWriter:
    """Append Arrow tables to Parquet files under ``root/sub``, one file per year partition
    (``year=YYYY``) when ``partition`` is set, each chunk a row group of the open file."""

    def __init__(self, root: Path, sub: str, name: str, schema: pa.Schema, *,
                 partition: str | None) -> None:
        self.root, self.sub, self.name = root, sub, name
        self.schema, self.partition = schema, partition
        self.writers: dict[int | None, pq.ParquetWriter] = {}
        self.files: list[str] = []
        self.rows = 0

    def _writer(self, key: int | None) -> pq.ParquetWriter:
        if key not in self.writers:
            rel = (Path(self.sub) / f"{self.partition}={key}" / self.name if self.partition
                   else Path(self.sub) / self.name)
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            self.writers[key] = pq.ParquetWriter(self.root / rel, self.schema,
                                                 compression="zstd")
            self.files.append(rel.as_posix())
        return self.writers[key]

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        self.rows += table.num_rows
        if self.partition is None:
            self._writer(None).write_table(table)
            return
        column = table.column(self.partition)
        for key in pc.unique(column).to_pylist():
            self._writer(int(key)).write_table(
                table.filter(pc.equal(column, key)))

    def close(self) -> list[str]:
        for w in self.writers.values():
            w.close()
        self.writers.clear()
        return sorted(self.files)


def write_single(root: Path, rel: str, schema: pa.Schema, tables: Any) -> int:
    """Write the tables an iterator yields into one Parquet file ``root/rel``."""
    rows = 0
    with pq.ParquetWriter(root / rel, schema, compression="zstd") as writer:
        for table in tables:
            writer.write_table(table)
            rows += table.num_rows
    return rows


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """``_manifest.json`` written to a temporary name and renamed over the old one."""
    tmp = directory / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)


def publish_full(staging: Path, out: Path) -> None:
    """Put a complete export (``staging``) in place of ``out``: rename, and if ``out``
    existed, swap it aside first and delete it after."""
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
        os.rename(out, old)
        try:
            os.rename(staging, out)
        except OSError:
            os.rename(old, out)
            raise
        discard(old)
    else:
        os.rename(staging, out)


def publish_parts(staging: Path, out: Path, files: list[str]) -> None:
    """Move the new files of an incremental export from ``staging`` (inside ``out``) into
    place; the manifest, written after, is what makes them part of the export."""
    for rel in files:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, target)
    discard(staging)


def read_current(out: Path, kind: str = "facts") -> pa.Table:
    """The current rows of an export (``kind`` facts or attributes), the reader's rule
    applied: per (enterprise_id, metric, period) the row of the highest ``export_seq``.
    Reads the listed files whole — for checks and small exports; a Spark run applies the
    same rule over the same file list."""
    manifest = load_manifest(out)
    if manifest is None:
        raise _bad(out, f"没有 {MANIFEST}", f"no {MANIFEST}")
    files = manifest["files"][kind]
    if not files:
        return fact_schema(DECIMAL_SCALE).empty_table()
    table = pa.concat_tables([pq.ParquetFile(out / f).read() for f in files])
    keys = ["enterprise_id", "metric", "period"]
    latest = table.group_by(keys).aggregate([("export_seq", "max")])
    return table.join(latest, keys=[*keys, "export_seq"],
                      right_keys=[*keys, "export_seq_max"], join_type="inner")
