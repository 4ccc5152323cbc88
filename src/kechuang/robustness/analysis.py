"""Moved to :mod:`kechuang.robustness.engine` (issue 16: every package keeps its pure
computation in ``engine.py``, so the same name means the same thing everywhere). This old
name re-exports it for importers not yet updated; new code imports the engine."""

from kechuang.robustness.engine import *  # noqa: F403
