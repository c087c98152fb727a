"""The run's per-sample files (labels, images, texts, features, x), as RunReader serves them: each
checked against its checksum and the run's sample count, so a consumer indexing by sample id never
reads past a damaged file. A mixin of RunReader; numpy and the standard library only."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from osig_core.store import layout as L
from osig_core.store.reader_checks import stored


class SampleFiles:
    """Expects RunReader's dir, n and _verify_sample_file."""

    def labels(self) -> np.ndarray:
        return self._load_npy("labels.npy")

    def images(self) -> np.ndarray | None:
        p = self.dir / L.SAMPLES_DIR / "images.npy"
        return self._load_npy("images.npy", mmap=True) if p.is_file() else None

    def texts(self) -> list[str] | None:
        p = self.dir / L.SAMPLES_DIR / "texts.json"
        if not p.is_file():
            return None
        texts = self._load_json(p)
        if not isinstance(texts, list) or len(texts) != self.n:
            raise L.RunStoreError(f"'{p}' is corrupt: it does not hold one text for each of the run's {self.n} samples")
        return texts

    @stored(f"{L.SAMPLES_DIR}/features.json")
    def features(self) -> dict[str, np.ndarray]:
        p = self.dir / L.SAMPLES_DIR / "features.json"
        if not p.is_file():
            return {}
        out = {}
        for k, ids in self._load_json(p).items():
            ids = np.asarray(ids, dtype=np.int64).reshape(-1)
            if ids.size and (ids.min() < 0 or ids.max() >= self.n):  # -1 would silently mark the last sample
                raise L.RunStoreError(f"'{p}' is corrupt: feature '{str(k)[:40]}' names sample id "
                                      f"{int(ids.min() if ids.min() < 0 else ids.max())}, outside 0-{self.n - 1}")
            mask = np.zeros(self.n, bool)
            mask[ids] = True
            out[k] = mask
        return out

    def sample_x(self) -> np.ndarray | None:
        p = self.dir / L.SAMPLES_DIR / "x.npy"
        return self._load_npy("x.npy") if p.is_file() else None

    def _load_npy(self, name: str, mmap: bool = False) -> np.ndarray:
        """One array per sample (first axis N), or RunStoreError: consumers index it by sample id."""
        p = self.dir / L.SAMPLES_DIR / name
        if p.is_file():
            self._verify_sample_file(p)
        try:
            arr = np.load(p, allow_pickle=False, mmap_mode="r" if mmap else None)
        except Exception as e:  # noqa: BLE001 - a damaged header fails in many ways (EOF, SyntaxError, ...)
            raise L.RunStoreError(f"'{p}' is missing or corrupt ({e or type(e).__name__})") from None
        if not isinstance(arr, np.ndarray) or arr.ndim == 0 or arr.shape[0] != self.n:
            raise L.RunStoreError(f"'{p}' is corrupt: it does not hold one entry for each of the run's {self.n} samples")
        return arr

    def _load_json(self, p: Path) -> Any:
        if p.is_file():
            self._verify_sample_file(p)
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as e:
            raise L.RunStoreError(f"'{p}' is missing or corrupt ({e})") from None
