"""Benchmark: how long a short write waits while a large import runs (issue 17, item 1).

    python bench/import_lock.py [--rows 100000] [--url sqlite:///...]

Builds the database of ``bench/import_facts.py`` (N enterprises, a wide tax CSV of N rows ×
10 metrics), then imports the file while a second thread does what a login does — one short
write transaction (an audit row) — every 50 ms. Prints the import's total time, the longest
time one short write waited for the write lock, and how many short writes failed with
"database is locked" (the busy timeout is the engine's, 30 s on SQLite).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError

from kechuang.auth.actor import Actor
from kechuang.db import make_engine, unit_of_work
from kechuang.ingest.service import do_import
from kechuang.kit import audit

sys.path.insert(0, str(Path(__file__).parent))
from import_facts import build, write_csv  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kc-bench-lock-"))
    url = args.url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("KECHUANG_IMPORT_MAX_BYTES", str(1024 ** 3))
    build(url, args.rows)
    path = tmp / "tax-2023.csv"
    values = write_csv(path, args.rows)
    data = path.read_bytes()
    engine = make_engine(url)
    stop = threading.Event()
    waits: list[float] = []
    failures: list[str] = []
    actor = Actor.command_line()

    def short_writes() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                with unit_of_work(engine) as s:
                    audit.record(s, actor, "bench.ping", "bench", 1)
            except OperationalError as exc:
                failures.append(str(exc.orig))
            waits.append(time.perf_counter() - t0)
            stop.wait(0.05)

    writer = threading.Thread(target=short_writes, daemon=True)
    writer.start()
    t0 = time.perf_counter()
    with unit_of_work(engine) as s:
        # as the command and the import job call it: long imports commit in short steps
        r = do_import(s, actor, data, path.name, "tax", checkpoint=s.commit)
    total = time.perf_counter() - t0
    time.sleep(0.5)
    stop.set()
    writer.join(timeout=120)
    if not r.ok:
        print("import failed:", r.message, file=sys.stderr)
        sys.exit(1)
    print(f"import of {values:,} values ({args.rows:,} rows): {total:.1f} s")
    print(f"short writes: {len(waits)}; longest wait {max(waits):.2f} s; "
          f"failed {len(failures)}{' (' + failures[0] + ')' if failures else ''}")
    engine.dispose()


if __name__ == "__main__":
    main()
