"""The indicator systems a scoring run can use, by id and version.

Shipped systems live in ``scoring/systems/*.yaml``. A system is named by its ``id`` in the
file (``zjg-points``, ``torch-points``) — several files may hold versions of the same id —
or by the file stem (``zjg-2.0``, ``torch``). Without a version, the latest version already
in effect (``effective_from`` ≤ today; the earliest one if none is yet) is used, so a new
version shipped with a future date does not change today's runs.

``register_file`` adds a system file for this process (the benchmark's 25-indicator system,
an analyst's trial file from the CLI); bureau-edited versions in the database are a later
step (spec/architecture.md, "Rules are data").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.scoring.system import System, load, shipped

_extra: dict[str, Path] = {}


@dataclass(frozen=True)
class SystemInfo:
    id: str
    version: str
    name: str
    effective_from: date
    file: str  # file stem
    indicators: int
    description: str | None


@cache
def _load_path(path: str, mtime: float) -> System:
    return load(path)


def _load(path: Path) -> System:
    return _load_path(str(path), path.stat().st_mtime)


def _files() -> dict[str, Path]:
    return {**shipped(), **_extra}


def register_file(path: str | Path) -> System:
    """Make a system file available by its id/stem in this process; returns it loaded."""
    p = Path(path).resolve()
    system = _load(p)
    _extra[p.stem] = p
    return system


def available_systems() -> list[SystemInfo]:
    """Every known system version, ordered by id then effective date."""
    out = []
    for stem, path in _files().items():
        s = _load(path)
        out.append(SystemInfo(s.id, s.version, s.spec.name, s.spec.effective_from, stem,
                              len(s.indicators), s.spec.description))
    return sorted(out, key=lambda i: (i.id, i.effective_from, i.version))


def load_system(system_id: str, version: str | None = None) -> System:
    """A system by id (or file stem) and optional version; see the module docstring."""
    files = _files()
    if system_id in files:
        s = _load(files[system_id])
        if version is None or s.version == version:
            return s
        system_id = s.id
    candidates = [_load(p) for p in files.values()]
    same = [s for s in candidates if s.id == system_id]
    if not same:
        known = "、".join(sorted({s.id for s in candidates} | set(files)))
        raise NotFound(f"未知的指标体系 “{system_id}”（可选：{known}）",
                       f"unknown indicator system {system_id}")
    if version is not None:
        for s in same:
            if s.version == version:
                return s
        have = "、".join(sorted(s.version for s in same))
        raise InvalidInput(f"指标体系 {system_id} 没有版本 “{version}”（已有：{have}）",
                           f"system {system_id} has no version {version}")
    today = date.today()
    in_effect = [s for s in same if s.spec.effective_from <= today]
    pool = in_effect or same

    def key(s: System) -> tuple[date, str]:
        return (s.spec.effective_from, s.version)

    return max(pool, key=key) if in_effect else min(pool, key=key)
