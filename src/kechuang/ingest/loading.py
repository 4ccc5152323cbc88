"""Long imports on SQLite in short transactions (issue 17, item 1).

SQLite has one write lock. An import written in one transaction held it from its first
write to its commit — 36 s for a million values — and a login's audit row behind it timed
out. A long import (``import_chunk_facts``) therefore writes in short transactions, each
ended by the caller's ``checkpoint`` (the command or job commits; this module never does):

1. **loading** — the batch row (status ``loading``, ``loader`` = host:pid, a heartbeat) and
   the enterprises the file creates; then the values that are new or changed, a slice of
   enterprises at a time, as *pending* rows: neither current nor superseded, so no read
   sees them (every current-fact read filters ``is_current``).
2. **publishing** — one short transaction turns the batch to ``publishing``: the point of
   no return. The pending rows then become current slice by slice (the facts they replace
   are superseded in the same transaction, and the derived columns refreshed), so each
   enterprise changes all at once; the whole batch takes effect within seconds.
3. **committed** — the batch's counts, report and audit row (the caller's last commit).

Between transactions the import pauses briefly so that waiting short writes get the lock
(SQLite's busy handler polls; it does not queue). A process that dies leaves its batch
``loading`` or ``publishing``; the next import (or ``kechuang batches recover``) finds
it dead — its process is gone from this host, or on another host it has not written for
``import_stale_seconds`` — and undoes a loading batch (deletes its pending rows and the
enterprises only it referenced: status ``failed``) or finishes a publishing one. An
exception inside the import does the same at once.

PostgreSQL does not need this (writers do not block each other): imports there stay one
transaction, as do small imports on SQLite.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.db import begin_immediate
from kechuang.ingest import repository as repo
from kechuang.ingest.attributes import refresh_derived
from kechuang.kit import audit
from kechuang.models import ImportBatch, utcnow

Checkpoint = Callable[[], None]
Progress = Callable[[str, int, int], None]
Staged = tuple[int, int, int, Any, "str | None"]

#: seconds the import waits between two transactions, so that writers polling for the
#: lock (SQLite's busy handler sleeps up to 100 ms between tries) get it
LOCK_PAUSE = 0.12


@dataclass
class Counts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0


def loader_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pause() -> None:
    time.sleep(LOCK_PAUSE)


def _beat(batch: ImportBatch) -> None:
    batch.heartbeat_at = utcnow()


def slices(staged: Sequence[Staged], size: int) -> list[Sequence[Staged]]:
    """``staged`` (sorted by enterprise) cut into slices of about ``size`` values, never
    inside one enterprise's values."""
    out: list[Sequence[Staged]] = []
    start = 0
    while start < len(staged):
        end = min(start + size, len(staged))
        while end < len(staged) and staged[end][0] == staged[end - 1][0]:
            end += 1
        out.append(staged[start:end])
        start = end
    return out


def write_pending(session: Session, batch: ImportBatch, staged: Sequence[Staged],
                  metric_ids: dict[str, int], checkpoint: Checkpoint,
                  progress: Progress) -> Counts:
    """Phases 1 and 2 for a batch already added as ``loading``: pending rows slice by
    slice, then ``publishing``, then current slice by slice. Returns the value counts."""
    size = get_settings().import_chunk_facts
    ordered = sorted(staged, key=lambda r: (r[0], r[1], r[2]))
    counts = Counts()
    ranges: list[tuple[int, int]] = []
    done = 0
    for part in slices(ordered, size):
        begin_immediate(session)
        repo.create_stage(session)
        repo.fill_stage(session, part)
        new, changed, unchanged = repo.stage_counts(session)
        counts.new += new
        counts.changed += changed
        counts.unchanged += unchanged
        lo, hi = repo.insert_pending(session, batch.id)
        if hi >= lo:
            ranges.append((lo, hi))
        repo.drop_stage(session)
        _beat(batch)
        checkpoint()
        done += len(part)
        progress("写入", done, len(ordered) * 2)
        _pause()
    begin_immediate(session)
    batch.status = "publishing"
    batch.facts_new, batch.facts_changed, batch.facts_unchanged = (
        counts.new, counts.changed, counts.unchanged)
    _beat(batch)
    checkpoint()  # the point of no return: from here a dead import is finished, not undone
    for n, (lo, hi) in enumerate(ranges, start=1):
        _publish(session, batch, lo, hi, metric_ids)
        checkpoint()
        progress("生效", len(ordered) + len(ordered) * n // max(len(ranges), 1),
                 len(ordered) * 2)
        _pause()
    return counts


def _publish(session: Session, batch: ImportBatch, lo: int, hi: int,
             metric_ids: dict[str, int]) -> int:
    begin_immediate(session)
    made = repo.publish_pending(session, batch.id, lo, hi)
    repo.create_stage(session)
    repo.stage_ids(session, batch.id, lo, hi)
    refresh_derived(session, metric_ids)
    repo.drop_stage(session)
    _beat(batch)
    return made


def _alive(batch: ImportBatch) -> bool:
    """Whether the process that writes ``batch`` may still be running."""
    host, _, pid = (batch.loader or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # a process of another user: it exists
            return True
        return True
    stale = timedelta(seconds=get_settings().import_stale_seconds)
    return batch.heartbeat_at is not None and utcnow() - batch.heartbeat_at < stale


def finish_or_undo(session: Session, actor: Actor, batch: ImportBatch,
                   checkpoint: Checkpoint | None) -> str:
    """Undo a ``loading`` batch (status ``failed``) or finish a ``publishing`` one
    (``committed``), in short transactions when ``checkpoint`` is given. Returns the new
    status. Audited as ``import.undone`` or ``import.commit`` (with ``recovered``)."""
    size = get_settings().import_chunk_facts
    commit = checkpoint or (lambda: None)
    span = repo.pending_id_range(session, batch.id)
    metric_ids = repo.metric_ids(session)
    if batch.status == "loading":
        deleted = 0
        if span is not None:
            for lo in range(span[0], span[1] + 1, size):
                begin_immediate(session)
                deleted += repo.delete_pending(session, batch.id, lo, lo + size - 1)
                commit()
        begin_immediate(session)
        removed = repo.delete_unreferenced_enterprises(session, batch.id)
        batch.status = "failed"
        audit.record(session, actor, "import.undone", "import_batch", batch.id,
                     before={"status": "loading", "loader": batch.loader},
                     after={"status": "failed", "facts_deleted": deleted,
                            "enterprises_removed": removed},
                     region_code=batch.region_code)
    else:
        if span is not None:
            for lo in range(span[0], span[1] + 1, size):
                _publish(session, batch, lo, lo + size - 1, metric_ids)
                commit()
        begin_immediate(session)
        if batch.region_code is None:
            batch.region_code = repo.common_region_of_batch(session, batch.id)
        batch.status = "committed"
        audit.record(session, actor, "import.commit", "import_batch", batch.id,
                     after={"template": batch.template, "filename": batch.filename,
                            "hash": batch.content_hash, "recovered": True,
                            "facts_new": batch.facts_new,
                            "facts_changed": batch.facts_changed},
                     region_code=batch.region_code)
    batch.loader = None
    commit()
    return batch.status


def recover_dead(session: Session, actor: Actor, checkpoint: Checkpoint | None) -> list[int]:
    """Undo or finish every unfinished batch whose process is gone; their ids."""
    done = []
    for batch in repo.unfinished_batches(session):
        if not _alive(batch):
            finish_or_undo(session, actor, batch, checkpoint)
            done.append(batch.id)
    return done
