"""Domain events inside one unit of work: a run announces that it finished, and the
capabilities that react (precise push after a scoring or eligibility run) do their part in
the same transaction — so a re-run, a rollback or a crash never leaves pushes without the
run or a run without its pushes.

This is the only way one package reacts to another's state change: the producer emits,
the reacting package subscribes in its ``subscribers.py``, and neither imports the other
(the import contracts of ``.importlinter`` forbid cycles between packages; every event
below is listed here, checked by tests/architecture/test_layers.py).

Subscribers live in the modules named by ``SUBSCRIBER_MODULES`` (imported on first emit,
skipped when the package is absent) and register with :func:`subscribe`. Events and their
keyword arguments:

- ``scoring.run_completed``: ``session``, ``actor``, ``run`` (a ``ScoringRun``)
- ``scoring.run_published``: ``session``, ``actor``, ``run`` (a ``ScoringRun`` just published)
- ``policy.runs_completed``: ``session``, ``actor``, ``run_ids`` (``PolicyRun`` ids)
- ``demo.county_loaded``: ``session``, ``seed``, ``county_code``, ``today`` (a date),
  ``years`` (the demo's years), ``summary`` (a dict each subscriber adds its counts to)
- ``programs.review_requested``: ``session``, ``actor``, ``request``
  (:class:`kechuang.kit.seams.ReviewRequest`)
- ``ingest.upload_stored``: ``session``, ``actor``, ``upload_id`` (an ``ImportUpload``),
  ``out`` (a dict the jobs package puts the queued ``job_id`` in)
- ``review.decision_recorded``: ``session``, ``actor``, ``decision``
  (:class:`kechuang.kit.seams.ReviewDecision`)
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

# lists first: the demo's published points list is what the later demo subscribers read;
# then the demo's policy runs, whose draft pushes the push subscriber reviews
SUBSCRIBER_MODULES = ("kechuang.lists.subscribers", "kechuang.policy.subscribers",
                      "kechuang.push.subscribers",
                      "kechuang.tiers.subscribers",
                      "kechuang.carbon.subscribers", "kechuang.monitoring.subscribers",
                      "kechuang.programs.subscribers", "kechuang.finance.subscribers",
                      "kechuang.vouchers.subscribers",
                      "kechuang.review.subscribers", "kechuang.jobs.subscribers")

_handlers: dict[str, list[Callable[..., None]]] = defaultdict(list)
_loaded = False


def subscribe(event: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        if fn not in _handlers[event]:
            _handlers[event].append(fn)
        return fn

    return decorate


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for name in SUBSCRIBER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
    _loaded = True


def emit(event: str, **kwargs: Any) -> None:
    """Call every subscriber of ``event`` in order; an exception propagates (and so rolls
    back the caller's unit of work)."""
    _load()
    for fn in list(_handlers[event]):
        fn(**kwargs)
