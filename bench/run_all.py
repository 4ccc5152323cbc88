"""Run every benchmark of this folder, one after another (``make bench``).

Each benchmark is a script that prints its own figures; they are recorded by hand, with the
command and the machine, in docs/benchmarks.md. Pass names to run only some:
``python bench/run_all.py import_facts list_page``. The 1,000,000-enterprise runs take
minutes; ``KECHUANG_BENCH_FULL=1`` includes them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
DEFAULT = ["import_facts", "demo_init", "list_page", "policy_eval", "scoring_run", "robustness",
           "dispatch", "matching", "matching_index", "profile_whatif", "lists_pages"]


def main(argv: list[str]) -> int:
    names = argv or DEFAULT
    failed = []
    for name in names:
        script = HERE / f"{name}.py"
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        args = [sys.executable, str(script)]
        if name == "demo_init" and os.environ.get("KECHUANG_BENCH_FULL") == "1":
            args.append("--full")
        code = subprocess.call(args)
        print(f"=== {name}: exit {code}, {time.perf_counter() - started:.1f} s wall ===")
        if code:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
