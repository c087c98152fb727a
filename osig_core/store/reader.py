"""RunReader: everyone but the engine reads a run through this (safe while a writer runs).

Only committed steps are visible: the loss matrix is mapped up to the last row a committed step
points at. Nothing here imports torch, so the monitor stays light.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np

from osig_core.config.run_config import ConfigError, RunConfig
from osig_core.store import integrity as I
from osig_core.store import layout as L
from osig_core.store.reader_checks import ReaderChecks, int_arg, stored
from osig_core.store.reader_samples import SampleFiles

LIVE_STATUSES = ("starting", "running", "paused")
class RunReader(SampleFiles, ReaderChecks):
    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir)
        if not self.dir.is_dir():
            raise L.RunStoreError(f"'{self.dir}' is not a directory, so it is not an osig run")
        cfg_path = self.dir / L.CONFIG_FILE
        if not cfg_path.is_file():
            raise L.RunStoreError(f"'{self.dir}' is not an osig run (no {L.CONFIG_FILE})")
        try:
            self.config_doc: dict[str, Any] = json.loads(cfg_path.read_text(encoding="utf-8"))
            version = int(self.config_doc["format_version"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
            raise L.RunStoreError(f"'{cfg_path}' is corrupt (not the JSON osig writes)") from None
        except OSError as e:
            raise L.RunStoreError(f"'{cfg_path}' cannot be read ({e.strerror or e})") from None
        if version > L.FORMAT_VERSION:
            raise L.RunStoreError(
                f"'{self.dir}' was written by a newer osig (format {version}; this osig reads up to {L.FORMAT_VERSION}); upgrade osig to read it")
        try:
            if not isinstance(self.config_doc.get("config"), dict):
                raise ConfigError("no 'config' table")
            self.config = RunConfig.from_dict(self.config_doc["config"], source=str(cfg_path))
            self.n = int(self.config_doc.get("n", 0))
            if self.n < 0:
                raise ConfigError(f"negative n {self.n}")
        except (ConfigError, KeyError, TypeError, ValueError, OverflowError) as e:
            raise L.RunStoreError(f"'{cfg_path}' is corrupt: {e}") from None
        db_path = self.dir / L.DB_FILE
        if not db_path.is_file():
            raise L.RunStoreError(f"'{db_path}' is missing, so the run has no recorded steps")
        try:
            self.db = L.connect(db_path, readonly=True)
            self.db.execute("SELECT 1 FROM steps LIMIT 1").fetchall()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as e:  # a damaged schema can fail to decode
            raise L.RunStoreError(f"'{db_path}' is not a readable osig database ({e})") from None
        self._mm: dict[str, tuple[int, np.memmap]] = {}
        self._verified_rows: dict[str, int] = {}  # rows 0..k-1 of a row file matched their checksums
        self._verified_files: set[str] = set()
        self._blocks_ok: dict[int, bool] = {}
        tables = {t for (t,) in self._q("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self._has_row_sums = "row_checksums" in tables  # runs written before checksums have none
        self._has_block_sums = "block_checksums" in tables
        self._has_payload_sums = "payload_checksums" in tables
        self._check_sample_count(cfg_path)

    def _q(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            return self.db.execute(sql, args).fetchall()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as e:  # a damaged schema can fail to decode
            raise L.RunStoreError(f"'{self.dir / L.DB_FILE}' could not be read ({e})") from None

    # ------------------------------------------------------------------ meta / status
    @stored(L.DB_FILE)
    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._q("SELECT key, value FROM meta")}

    @property
    @stored(L.CONFIG_FILE)
    def classes(self) -> list[str]:
        return list(self.config_doc.get("classes", []))

    @property
    def run_id(self) -> str:
        return self.dir.name

    @stored(L.DB_FILE)
    def status(self) -> tuple[str, str | None]:
        """(status, reason). A live status whose engine process is gone reads as 'failed'."""
        m = self.meta()
        status = str(m.get("status", "starting"))
        reason = None if m.get("error") is None else str(m["error"])
        if status in LIVE_STATUSES and not _writer_alive(self.dir, m):
            return "failed", reason or "the engine process died without finishing (killed or crashed)"
        return status, reason

    def last_step(self) -> int | None:
        return self._q("SELECT MAX(step) FROM steps")[0][0]

    def steps_done(self) -> int:
        s = self.last_step()
        return 0 if s is None else s + 1

    # ------------------------------------------------------------------ scalars
    @stored(L.DB_FILE)
    def metrics(self, since: int | None = None) -> dict[str, np.ndarray]:
        """Per-step scalars as arrays keyed by name ('step' first); NaN where a step lacks a key."""
        since = int_arg('since', since)
        crc, args = self._crc_sql("s.step", I.SCALARS_KIND)
        rows = self._q(f"SELECT s.step, s.time, s.scalars, {crc} FROM steps s WHERE s.step > ? ORDER BY s.step",
                       (*args, -1 if since is None else since))
        self._verify_payloads([(r[0], r[2], r[3]) for r in rows], "scalars")
        steps = np.array([r[0] for r in rows], dtype=np.int64)
        parsed = [json.loads(r[2]) for r in rows]
        keys: list[str] = []
        for p in parsed:
            for k in p:
                if k not in keys:
                    keys.append(k)
        out: dict[str, np.ndarray] = {"step": steps, "time": np.array([r[1] for r in rows], dtype=np.float64)}
        for k in keys:
            out[k] = np.array([np.nan if p.get(k) is None else p[k] for p in parsed], dtype=np.float64)
        return out

    # ------------------------------------------------------------------ per-sample matrices
    @stored(L.DB_FILE)
    def _matrix(self, name: str, dtype) -> np.ndarray:
        rows = self._q("SELECT MAX(row) FROM steps")[0][0]
        rows = 0 if rows is None else _count(rows) + 1
        cached = self._mm.get(name)
        if cached and cached[0] == rows:
            return cached[1]
        mm = self._map(name, dtype, rows)
        self._mm[name] = (rows, mm)
        return mm

    def _map(self, name: str, dtype, rows: int) -> np.ndarray:
        """The first `rows` rows of a row file, mapped read-only; RunStoreError if it holds fewer."""
        path = self.dir / name
        if rows == 0 or self.n == 0:
            return np.zeros((rows, self.n), dtype)
        need = rows * self.n * np.dtype(dtype).itemsize
        if not path.is_file():
            raise L.RunStoreError(f"'{path}' is missing, though the run recorded {rows} rows in it")
        if path.stat().st_size < need:
            raise L.RunStoreError(f"'{path}' is truncated: it holds fewer rows than the run recorded")
        mm = np.memmap(path, dtype=dtype, mode="r", shape=(rows, self.n))
        self._verify_rows(name, mm)
        return mm

    @stored(L.DB_FILE)
    def covered_steps(self) -> int:
        """c such that every step 0..c-1 is committed (a gap or a missing start ends the prefix)."""
        steps = [int(s) for (s,) in self._q("SELECT step FROM steps ORDER BY step")]
        c = 0
        for s in steps:
            if s != c:
                break
            c += 1
        return c

    @stored(L.DB_FILE)
    def rows_before(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, losses [R, N], preds [R, N]) of the rows recorded before `step`, oldest first. Maps
        only as far as those rows reach, so rows after them may be missing (what a resume needs)."""
        found = self._q("SELECT step, row FROM steps WHERE row IS NOT NULL AND step < ? ORDER BY row", (step,))
        rows = [_count(r) for _, r in found]
        if rows != list(range(len(rows))):
            raise ValueError(f"loss rows {rows[:5]}... are not in step order")
        steps = np.array([s for s, _ in found], np.int64)
        return steps, self._map(L.LOSSES_FILE, np.float16, len(rows)), self._map(L.PREDS_FILE, np.uint16, len(rows))

    def losses(self) -> np.ndarray:
        """Memory-mapped float16 [T, N]: row r holds every sample's loss at step loss_steps()[r]."""
        return self._matrix(L.LOSSES_FILE, np.float16)

    def preds(self) -> np.ndarray:
        return self._matrix(L.PREDS_FILE, np.uint16)

    def loss_history(self, ids) -> np.ndarray:
        """float32 [T, len(ids)]: the full loss history of some samples (one sample or a group).

        Complete blocks come from their transposed copies (contiguous reads); the tail from the rows."""
        ids = self._sample_ids(ids)
        rows = self.losses()
        total = rows.shape[0]
        out = np.empty((total, len(ids)), np.float32)
        order = np.argsort(ids)
        sorted_ids = ids[order]
        done = 0
        tdir = self.dir / L.LOSSES_T_DIR
        while done + L.BLOCK_ROWS <= total:
            path = tdir / L.block_name(done // L.BLOCK_ROWS)
            if not path.is_file() or path.stat().st_size < self.n * L.BLOCK_ROWS * 2 \
                    or not self._block_ok(done // L.BLOCK_ROWS, path):
                break
            block = np.memmap(path, dtype=np.float16, mode="r", shape=(self.n, L.BLOCK_ROWS))
            out[done:done + L.BLOCK_ROWS, order] = block[sorted_ids].T
            done += L.BLOCK_ROWS
        if done < total:
            out[done:] = rows[done:, ids]
        return out

    def loss_steps(self, since: int | None = None) -> np.ndarray:
        """The step of each loss row, in row order; with `since`, only the steps after it (a poller's new rows)."""
        since = int_arg('since', since)
        return np.array([r[0] for r in self._q("SELECT step FROM steps WHERE row IS NOT NULL AND step > ? ORDER BY row",
                                               (-1 if since is None else since,))], np.int64)

    @stored(L.DB_FILE)
    def row_of(self, step: int) -> int | None:
        step = int_arg('step', step, optional=False)
        r = self._q("SELECT row FROM steps WHERE step <= ? AND row IS NOT NULL ORDER BY step DESC LIMIT 1", (step,))
        return None if not r else int(r[0][0])

    # ------------------------------------------------------------------ records, groups, events
    @stored(L.DB_FILE)
    def records(self, kind: str, since: int | None = None) -> list[tuple[int, Any]]:
        since = int_arg('since', since)
        crc, args = self._crc_sql("r.step", kind)
        rows = self._q(f"SELECT r.step, r.payload, {crc} FROM records r WHERE r.kind = ? AND r.step > ? ORDER BY r.step",
                       (*args, kind, -1 if since is None else since))
        self._verify_payloads(rows, f"'{kind}' record")
        return [(int(s), json.loads(p)) for s, p, _ in rows]

    @stored(L.DB_FILE)
    def record_at(self, kind: str, step: int | None = None) -> tuple[int, Any] | None:
        """The latest record of `kind` at or before `step` (latest overall if None)."""
        step = int_arg('step', step)
        s = 2**62 if step is None else step
        crc, args = self._crc_sql("r.step", kind)
        r = self._q(f"SELECT r.step, r.payload, {crc} FROM records r WHERE r.kind = ? AND r.step <= ? "
                    f"ORDER BY r.step DESC LIMIT 1", (*args, kind, s))
        self._verify_payloads(r, f"'{kind}' record")
        return None if not r else (int(r[0][0]), json.loads(r[0][1]))

    @stored(L.DB_FILE)
    def pairs_all(self) -> list[dict]:
        return [json.loads(p) for (p,) in self._q("SELECT payload FROM pairs ORDER BY score DESC")]

    def pairs_at(self, step: int | None = None) -> list[dict]:
        step = int_arg('step', step)
        rec = self.record_at("pairs", step)
        return [] if rec is None else rec[1]

    @stored(L.DB_FILE)
    def group_losses(self, pair_id: int, since: int | None = None) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """side -> (steps, mean loss of that side's members); with `since`, only the steps after it."""
        since = int_arg('since', since)
        pair_id = int_arg('pair_id', pair_id, optional=False)
        out: dict[int, tuple[list, list]] = {}
        for side, step, loss in self._q("SELECT side, step, loss FROM group_losses WHERE pair_id = ? AND step > ? ORDER BY step",
                                        (pair_id, -1 if since is None else since)):
            out.setdefault(side, ([], []))
            out[side][0].append(step)
            out[side][1].append(loss)
        return {s: (np.array(a, np.int64), np.array(b, np.float64)) for s, (a, b) in out.items()}

    @stored(L.DB_FILE)
    def events(self, since_id: int = 0) -> list[dict]:
        since_id = int_arg('since_id', since_id, optional=False)
        return [dict(id=i, step=s, time=t, kind=k, message=m) for i, s, t, k, m in
                self._q("SELECT id, step, time, kind, message FROM events WHERE id > ? ORDER BY id", (since_id,))]

    # ------------------------------------------------------------------ checkpoints
    def checkpoints(self) -> list[tuple[int, Path]]:
        d = self.dir / L.CHECKPOINT_DIR
        out = []
        for p in sorted(d.glob("step_*.safetensors")) if d.is_dir() else []:
            try:
                out.append((int(p.stem.split("_")[1]), p))
            except (IndexError, ValueError):
                continue
        return out

    # ------------------------------------------------------------------ control (the one write a reader does)
    def send_control(self, command: str) -> None:
        """Ask the engine to pause / resume / checkpoint / stop; it polls between steps."""
        if command not in ("pause", "resume", "checkpoint", "stop"):
            raise ValueError(f"unknown control command {command!r}")
        con = L.connect(self.dir / L.DB_FILE)
        try:
            with con:
                con.execute("INSERT INTO control(time, command) VALUES (?, ?)", (time.time(), command))
        finally:
            con.close()

    def close(self) -> None:
        self._mm.clear()
        self.db.close()


def _count(value: Any) -> int:
    """A stored row index, refusing what only a corrupted database holds."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"row index {value!r}")
    return value


def _writer_alive(run_dir: Path, meta: dict[str, Any]) -> bool:
    pid = meta.get("pid", meta.get("writer_pid"))  # writer_pid: set while the run is still being created
    if not isinstance(pid, int):
        return True  # not started far enough to know; don't call it dead
    if meta.get("host", meta.get("writer_host")) not in (None, os.uname().nodename):
        heartbeat = meta.get("heartbeat")
        return heartbeat is None or time.time() - float(heartbeat) < 600
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a recycled pid that is not an osig run
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        return b"python" in cmd or b"osig" in cmd
    except OSError:
        return True
