"""RunWriter: the engine's side of the run directory.

Write order makes partial steps invisible: a step's loss row is appended to `losses.f16` first,
then the step's SQLite transaction (scalars, records, group losses) commits; readers only trust
rows that a committed step points at. One writer at a time, enforced with an OS file lock that a
crashed process releases automatically.
"""
from __future__ import annotations

import fcntl
import json
import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np

from osig_core.store import integrity as I
from osig_core.store import layout as L


def _json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=True, default=_default)


def _default(o: Any):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


class RunWriter:
    def __init__(self, run_dir: str | Path, n: int):
        self.dir = Path(run_dir)
        self.n = int(n)
        self._lock_fd: int | None = None
        self.db = None
        self._losses = None
        self._preds = None
        self._rows = 0

    # ------------------------------------------------------------------ lifecycle
    def acquire_lock(self) -> None:
        """Take the single-writer lock or fail with one sentence."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / L.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise L.RunStoreError(f"run directory '{self.dir}' is being written by another live osig process") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def create(self, config_doc: dict[str, Any]) -> None:
        """Start a fresh run: config.json, schema, empty loss matrix."""
        tmp = self.dir / (L.CONFIG_FILE + ".tmp")
        tmp.write_text(json.dumps(config_doc, indent=2, sort_keys=True))
        os.replace(tmp, self.dir / L.CONFIG_FILE)
        (self.dir / L.SAMPLES_DIR).mkdir(exist_ok=True)
        (self.dir / L.CHECKPOINT_DIR).mkdir(exist_ok=True)
        # the database appears whole: schema and creator written under a temporary name, then renamed
        # (who creates the run: a reader can tell one whose creator died before it started running)
        tmp_db = self.dir / (L.DB_FILE + ".tmp")
        tmp_db.unlink(missing_ok=True)
        con = L.connect(tmp_db)
        con.executescript(L.SCHEMA + I.SCHEMA)
        con.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                        [("writer_pid", _json(os.getpid())), ("writer_host", _json(os.uname().nodename))])
        con.commit()
        con.close()
        os.replace(tmp_db, self.dir / L.DB_FILE)
        self.db = L.connect(self.dir / L.DB_FILE)
        self._open_matrices(truncate_rows=0)

    def reopen(self, keep_through_step: int) -> None:
        """Resume: drop everything recorded after `keep_through_step` (it will be recomputed)."""
        db_path = self.dir / L.DB_FILE
        try:
            self.db = L.connect(db_path)
            self.db.executescript(L.SCHEMA + I.SCHEMA)
            with self.db:  # one transaction: all of the rollback or none of it
                for table in ("steps", "records", "group_losses", "payload_checksums"):
                    self.db.execute(f"DELETE FROM {table} WHERE step > ?", (keep_through_step,))
                self.db.execute("DELETE FROM pairs WHERE first_step > ?", (keep_through_step,))
                self.db.execute("UPDATE control SET handled = ? WHERE handled IS NULL", (time.time(),))
                row = self.db.execute("SELECT MAX(row) FROM steps").fetchone()[0]
                if row is not None and (isinstance(row, bool) or not isinstance(row, int) or row < 0):
                    # inside the transaction: raising here rolls the deletes above back
                    raise L.RunStoreError(f"'{db_path}' is corrupt (row index {row!r})")
                kept = 0 if row is None else row + 1
                self.db.execute("DELETE FROM row_checksums WHERE row >= ?", (kept,))
                self.db.execute("DELETE FROM block_checksums WHERE (block + 1) * ? > ?", (L.BLOCK_ROWS, kept))
        except (sqlite3.DatabaseError, UnicodeDecodeError) as e:  # a damaged schema can fail to decode
            raise L.RunStoreError(f"'{db_path}' cannot be continued: {e}") from None
        for stale in (self.dir / L.CHECKPOINT_DIR).glob("*.tmp"):  # half-written by a writer that died
            stale.unlink(missing_ok=True)
        self._open_matrices(truncate_rows=0 if row is None else row + 1, fresh=False)

    def _open_matrices(self, truncate_rows: int, fresh: bool = True) -> None:
        """Write the next row after `truncate_rows` rows. On resume the row files are never shrunk: a
        reader may have them memory-mapped (touching a page past a shrunk end is SIGBUS); rows past
        the committed ones are invisible to readers and get overwritten."""
        self._rows = truncate_rows
        tdir = self.dir / L.LOSSES_T_DIR
        for p in tdir.glob("block_*") if tdir.is_dir() else []:  # blocks past the kept rows are stale
            try:
                stale = (int(p.name[6:12]) + 1) * L.BLOCK_ROWS > truncate_rows
            except ValueError:
                stale = True
            if stale:
                p.unlink()
        for attr, name, itemsize in (("_losses", L.LOSSES_FILE, 2), ("_preds", L.PREDS_FILE, 2)):
            path = self.dir / name
            f = open(path, "w+b" if fresh or not path.exists() else "r+b")
            f.seek(truncate_rows * self.n * itemsize)
            setattr(self, attr, f)

    def _write_block(self, block: int) -> int:
        """A transposed copy of a complete block of rows, so one sample's history is a few
        contiguous reads instead of one read per step (the rows are still in the page cache).
        Returns the block's checksum, committed with the step that completed it."""
        d = self.dir / L.LOSSES_T_DIR
        d.mkdir(exist_ok=True)
        rows = np.memmap(self.dir / L.LOSSES_FILE, dtype=np.float16, mode="r",
                         offset=block * L.BLOCK_ROWS * self.n * 2, shape=(L.BLOCK_ROWS, self.n))
        tmp = d / (L.block_name(block) + ".tmp")
        try:
            data = np.ascontiguousarray(rows.T)
            data.tofile(tmp)
            os.replace(tmp, d / L.block_name(block))
            return I.crc_bytes(data)
        except OSError as e:  # e.g. a full disk: no partial block, and the message names the file
            tmp.unlink(missing_ok=True)
            e.filename = e.filename or str(d / L.block_name(block))
            raise
        finally:
            del rows

    def close(self) -> None:
        for f in (self._losses, self._preds):
            if f is not None:
                try:
                    f.close()
                except OSError:  # a full disk failing the last flush: the step it belonged to never committed
                    pass
        self._losses = self._preds = None
        if self.db is not None:
            self.db.close()
            self.db = None
        if self._lock_fd is not None:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            finally:
                os.close(self._lock_fd)
                self._lock_fd = None

    # ------------------------------------------------------------------ samples (written once)
    def write_samples(self, labels: np.ndarray, images: np.ndarray | None, texts: list[str] | None,
                      features: dict[str, np.ndarray], xs: np.ndarray | None = None) -> None:
        d = self.dir / L.SAMPLES_DIR
        np.save(d / "labels.npy", np.asarray(labels), allow_pickle=False)
        if images is not None:
            np.save(d / "images.npy", images.astype(np.uint8), allow_pickle=False)
        if xs is not None:
            np.save(d / "x.npy", xs.astype(np.float32), allow_pickle=False)
        if texts is not None:
            (d / "texts.json").write_text(json.dumps(texts))
        (d / "features.json").write_text(json.dumps({k: np.flatnonzero(v).tolist() for k, v in features.items()}))
        I.write_sample_checksums(d)

    # ------------------------------------------------------------------ per step
    def set_meta(self, **items: Any) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                                [(k, _json(v)) for k, v in items.items()])

    def event(self, step: int | None, kind: str, message: str) -> None:
        with self.db:
            self.db.execute("INSERT INTO events(step, time, kind, message) VALUES (?, ?, ?, ?)",
                            (step, time.time(), kind, message))

    def write_step(self, step: int, scalars: dict[str, float], *, losses: np.ndarray | None = None,
                   preds: np.ndarray | None = None, records: dict[str, Any] | None = None,
                   group_losses: list[tuple[int, int, float]] | None = None,
                   pairs: list[dict] | None = None) -> None:
        """Append one step: matrix rows first (flushed), then one committed transaction."""
        row = block_crc = None
        if losses is not None:
            p = np.zeros(self.n, np.uint16) if preds is None else np.asarray(preds).astype(np.uint16)
            row_data = np.asarray(losses, dtype=np.float16)
            sums = (I.crc_bytes(row_data), I.crc_bytes(p))
            for f, name, data in ((self._losses, L.LOSSES_FILE, row_data),
                                  (self._preds, L.PREDS_FILE, p)):
                try:
                    f.seek(self._rows * self.n * 2)  # after a failed write, the next one still lands on its row
                    f.write(data.tobytes())
                    f.flush()
                except OSError as e:  # e.g. a full disk: say which file
                    e.filename = e.filename or str(self.dir / name)
                    raise
            row = self._rows
            self._rows += 1
            if self._rows % L.BLOCK_ROWS == 0:
                block_crc = (self._rows // L.BLOCK_ROWS - 1, self._write_block(self._rows // L.BLOCK_ROWS - 1))
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else float(v)) for k, v in scalars.items()}
        scalars_json = _json(clean)
        payloads = [(k, _json(v)) for k, v in (records or {}).items()]
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO steps(step, time, row, scalars) VALUES (?, ?, ?, ?)",
                            (step, time.time(), row, scalars_json))
            self.db.executemany("INSERT OR REPLACE INTO payload_checksums(kind, step, crc) VALUES (?, ?, ?)",
                                [(I.SCALARS_KIND, step, I.crc_text(scalars_json))]
                                + [(k, step, I.crc_text(text)) for k, text in payloads])
            if row is not None:
                self.db.execute("INSERT OR REPLACE INTO row_checksums(row, losses, preds) VALUES (?, ?, ?)", (row, *sums))
            if block_crc is not None:
                self.db.execute("INSERT OR REPLACE INTO block_checksums(block, crc) VALUES (?, ?)", block_crc)
            if payloads:
                self.db.executemany("INSERT OR REPLACE INTO records(step, kind, payload) VALUES (?, ?, ?)",
                                    [(step, k, text) for k, text in payloads])
            if group_losses:
                self.db.executemany("INSERT OR REPLACE INTO group_losses(pair_id, side, step, loss) VALUES (?, ?, ?, ?)",
                                    [(int(p), int(s), step, float(v)) for p, s, v in group_losses])
            for pair in pairs or ():
                self.db.execute("INSERT OR REPLACE INTO pairs(id, first_step, last_step, score, payload) VALUES (?, ?, ?, ?, ?)",
                                (int(pair["id"]), int(pair["first_step"]), int(pair["last_step"]),
                                 float(pair.get("score", 0.0)), _json(pair)))
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_step', ?), ('heartbeat', ?)",
                            (_json(step), _json(time.time())))

    # ------------------------------------------------------------------ control
    def pending_commands(self) -> list[tuple[int, str]]:
        rows = self.db.execute("SELECT id, command FROM control WHERE handled IS NULL ORDER BY id").fetchall()
        if rows:
            with self.db:
                self.db.executemany("UPDATE control SET handled = ? WHERE id = ?", [(time.time(), r[0]) for r in rows])
        return [(int(i), str(c)) for i, c in rows]
