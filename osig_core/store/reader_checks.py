"""The reader's checks of what it serves: the checksums of rows, values and sample files (see
osig_core/store/integrity.py), config.json against the stored samples, and API arguments. A mixin
of RunReader; numpy and the standard library only."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from osig_core.config.run_config import ConfigError
from osig_core.store import integrity as I
from osig_core.store import layout as L


_CORRUPT = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, RecursionError)


def stored(name: str):
    """After a corruption a stored value may be of any type: whatever that breaks while a method
    parses it becomes one RunStoreError naming the file, never a traceback."""
    def deco(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except ConfigError:  # a bad argument, not a bad file
                raise
            except _CORRUPT as e:
                raise L.RunStoreError(f"'{self.dir / name}' is corrupt ({type(e).__name__}: {str(e)[:160]})") from None
        return wrapper
    return deco


class ReaderChecks:
    """Expects RunReader's dir, n, config, config_doc, _q and the _verified_* caches."""

    def _check_sample_count(self, cfg_path: Path) -> None:
        """config.json's N must be the number of samples the run stored (and its classes must name every
        label); otherwise every per-sample row would be read with the wrong width."""
        cfg_n = self.config.n
        if cfg_n is not None and self.n > cfg_n:
            raise L.RunStoreError(f"'{cfg_path}' is inconsistent: it records {self.n} samples but its config asks for {cfg_n}")
        try:  # the header only; a damaged file is reported by whatever reads it
            labels = np.load(self.dir / L.SAMPLES_DIR / "labels.npy", allow_pickle=False, mmap_mode="r")
            stored = int(labels.shape[0]) if labels.ndim else -1
        except Exception:  # noqa: BLE001 - missing or unreadable: not this check's business
            return
        if stored != self.n:
            raise L.RunStoreError(f"'{cfg_path}' says the run has {self.n} samples but "
                                  f"'{self.dir / L.SAMPLES_DIR / 'labels.npy'}' holds {stored}; the run directory is inconsistent")
        classes = self.config_doc.get("classes")
        if isinstance(classes, list) and classes and labels.dtype.kind in "iu" and self.n:
            top, low = int(labels.max()), int(labels.min())
            if top >= len(classes) or low < 0:
                self._verify_sample_file(self.dir / L.SAMPLES_DIR / "labels.npy")  # a damaged byte says so
                raise L.RunStoreError(f"'{cfg_path}' names {len(classes)} classes but "
                                      f"'{self.dir / L.SAMPLES_DIR / 'labels.npy'}' holds label {top if low >= 0 else low}; "
                                      f"the run directory is inconsistent")

    def _verify_rows(self, name: str, mm: np.ndarray) -> None:
        """Each row not yet checked against the CRC committed with it (once per reader: incremental
        reads check only the new rows)."""
        done = self._verified_rows.get(name, 0)
        if not self._has_row_sums or done >= len(mm):
            return
        column = "losses" if name == L.LOSSES_FILE else "preds"
        for row, crc in self._q(f"SELECT row, {column} FROM row_checksums WHERE row >= ? AND row < ? ORDER BY row",
                                (done, len(mm))):
            if not isinstance(row, int) or not 0 <= row < len(mm) or I.crc_bytes(mm[row]) != crc:
                again = self._q(f"SELECT {column} FROM row_checksums WHERE row = ?", (row,))
                if isinstance(row, int) and 0 <= row < len(mm) and (not again or again[0][0] != crc
                                                                    or I.crc_bytes(mm[row]) == crc):
                    continue  # a resume rewrote this row while we read it: not damage
                step = self._q("SELECT step FROM steps WHERE row = ?", (row,))
                at = f" (step {step[0][0]})" if step else ""
                raise L.RunStoreError(f"'{self.dir / name}' row {row}{at} does not match its checksum: the file was "
                                      f"changed or damaged after it was written")
        self._verified_rows[name] = len(mm)

    def _crc_sql(self, step_column: str, kind: str) -> tuple[str, tuple]:
        """A column expression giving the checksum of a value, read in the same statement as the value
        (one consistent snapshot even while a resume rewrites the steps); NULL in older runs."""
        if not self._has_payload_sums:
            return "NULL", ()
        return f"(SELECT crc FROM payload_checksums c WHERE c.kind = ? AND c.step = {step_column})", (kind,)

    def _verify_payloads(self, rows: list, what: str) -> None:
        """(step, JSON text, checksum or None) rows: each text against the checksum committed with it."""
        for step, text, crc in rows:
            if crc is not None and (not isinstance(text, str) or I.crc_text(text) != crc):
                raise L.RunStoreError(f"'{self.dir / L.DB_FILE}': the {what} of step {step} does not match its "
                                      f"checksum: the database was changed or damaged after it was written")

    def _verify_sample_file(self, path: Path) -> None:
        """A sample file against samples/checksums.json, once per reader (absent in older runs)."""
        if path.name in self._verified_files:
            return
        try:
            sums = I.sample_checksums(path.parent)
        except ValueError as e:
            raise L.RunStoreError(str(e)) from None
        if sums is not None and path.name in sums:
            try:
                crc = I.crc_file(path)
            except OSError as e:
                raise L.RunStoreError(f"'{path}' is missing or unreadable ({e.strerror or e})") from None
            if crc != sums[path.name]:
                raise L.RunStoreError(f"'{path}' does not match its checksum: the file was changed or damaged "
                                      f"after it was written")
        self._verified_files.add(path.name)

    def _block_ok(self, block: int, path: Path) -> bool:
        """A transposed block matches the checksum written with it (checked once per reader); a block
        that does not is skipped: the rows it copies are read instead."""
        if block not in self._blocks_ok:
            ok = True
            if self._has_block_sums:
                found = self._q("SELECT crc FROM block_checksums WHERE block = ?", (block,))
                ok = not found or I.crc_file(path) == found[0][0]
            self._blocks_ok[block] = ok
        return self._blocks_ok[block]

    def _sample_ids(self, ids) -> np.ndarray:
        """Sample ids as int64 [k], or ConfigError naming the first that is not an id of this run."""
        try:
            arr = np.atleast_1d(np.asarray(ids))
        except (ValueError, TypeError, RecursionError):
            raise ConfigError("sample ids must be integers (one id or a list of ids)") from None
        if arr.ndim != 1 or (arr.size and (arr.dtype.kind not in "iu" or arr.dtype == bool)):
            raise ConfigError(f"sample ids must be integers (one id or a list of ids), got {arr.dtype} of shape {arr.shape}")
        arr = arr.astype(np.int64) if arr.size else np.zeros(0, np.int64)
        bad = arr[(arr < 0) | (arr >= self.n)]
        if bad.size:
            raise ConfigError(f"sample id {int(bad[0])} is out of range: the run has {self.n} samples (ids 0 to {self.n - 1})")
        return arr


def int_arg(name: str, value: Any, optional: bool = True) -> int | None:
    """API arguments that are steps or ids: an integer (or None where allowed), else one ConfigError."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not -2**62 <= int(value) <= 2**62:
        raise ConfigError(f"{name} must be an integer{' or None' if optional else ''}, got {str(value)[:40]!r}")
    return int(value)
