"""Names and schema of the run directory, shared by writer and reader."""
from __future__ import annotations

import sqlite3
from pathlib import Path

FORMAT_VERSION = 1

CONFIG_FILE = "config.json"
DB_FILE = "run.sqlite"
LOSSES_FILE = "losses.f16"  # float16 rows of N, one per recorded step
PREDS_FILE = "preds.u16"
LOSSES_T_DIR = "losses_t"  # transposed copies of complete blocks of BLOCK_ROWS rows: [N, BLOCK_ROWS] each
BLOCK_ROWS = 256  # uint16 rows of N predicted class ids (classification only)
SAMPLES_DIR = "samples"
CHECKPOINT_DIR = "checkpoints"
LOCK_FILE = "writer.lock"

STATUSES = ("starting", "running", "paused", "finished", "stopped", "diverged", "failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (step INTEGER PRIMARY KEY, time REAL NOT NULL, row INTEGER, scalars TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (step INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
                                    PRIMARY KEY (kind, step));
CREATE TABLE IF NOT EXISTS pairs (id INTEGER PRIMARY KEY, first_step INTEGER, last_step INTEGER,
                                  score REAL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS group_losses (pair_id INTEGER NOT NULL, side INTEGER NOT NULL, step INTEGER NOT NULL,
                                         loss REAL NOT NULL, PRIMARY KEY (pair_id, side, step));
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, step INTEGER, time REAL NOT NULL,
                                   kind TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS control (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL,
                                    command TEXT NOT NULL, handled REAL);
"""


class RunStoreError(Exception):
    """A run directory that cannot be used; the message is one sentence naming the file."""


def connect(path: Path, *, readonly: bool = False, timeout: float = 10.0) -> sqlite3.Connection:
    """Open the run database; readers open read-only so they can never take the write lock."""
    if readonly:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout, check_same_thread=False)
    else:
        con = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
    return con


def checkpoint_name(step: int) -> str:
    return f"step_{step:07d}.safetensors"


def block_name(block: int) -> str:
    return f"block_{block:06d}.f16"
