"""Moved to :mod:`kechuang.policy.engine` (issue 16: every package keeps its pure
computation in ``engine.py``, so the same name means the same thing everywhere). This old
name re-exports it for importers not yet updated; new code imports ``kechuang.policy.engine``."""

from kechuang.policy.engine import *  # noqa: F403
