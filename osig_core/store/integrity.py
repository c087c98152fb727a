"""Checksums of the run directory's arrays, so that a changed byte is reported instead of served.

- The sample files (labels, images, x, texts, features), written once at the start, get one CRC-32
  each in `samples/checksums.json`.
- Every loss and prediction row gets a CRC-32 in the `row_checksums` table, committed in the same
  transaction as its step; every complete transposed block one in `block_checksums`; each step's
  scalars JSON and each record's payload one in `payload_checksums` (SQLite checks its own pages'
  structure, not the values in them).

CRC-32 (zlib, about 1 GB/s) finds any flipped byte; this is about damage, not tampering. Runs
written before checksums existed have neither the file nor the tables and are read unchecked.
Standard library and numpy only: readers never import torch.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

SAMPLE_CHECKSUMS = "checksums.json"  # in the samples directory
SCHEMA = """
CREATE TABLE IF NOT EXISTS row_checksums (row INTEGER PRIMARY KEY, losses INTEGER NOT NULL, preds INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS block_checksums (block INTEGER PRIMARY KEY, crc INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS payload_checksums (kind TEXT NOT NULL, step INTEGER NOT NULL, crc INTEGER NOT NULL,
                                              PRIMARY KEY (kind, step));
"""
SCALARS_KIND = ""  # payload_checksums.kind of a step's scalars; a record's own kind otherwise


def crc_text(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))
_CHUNK = 1 << 22


def crc_bytes(data) -> int:
    return zlib.crc32(memoryview(np.ascontiguousarray(data)).cast("B")) if isinstance(data, np.ndarray) \
        else zlib.crc32(data)


def crc_file(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def write_sample_checksums(samples_dir: Path) -> None:
    """One CRC per sample file present, written last (a crash before it leaves the samples unchecked)."""
    sums = {p.name: crc_file(p) for p in sorted(samples_dir.iterdir())
            if p.is_file() and p.name != SAMPLE_CHECKSUMS and not p.name.endswith(".tmp")}
    tmp = samples_dir / (SAMPLE_CHECKSUMS + ".tmp")
    tmp.write_text(json.dumps(sums, sort_keys=True))
    tmp.replace(samples_dir / SAMPLE_CHECKSUMS)


def sample_checksums(samples_dir: Path) -> dict[str, int] | None:
    """name -> CRC; None for a run written without them. Raises ValueError when the list itself is damaged."""
    path = samples_dir / SAMPLE_CHECKSUMS
    if not path.is_file():
        return None
    try:
        sums = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise ValueError(f"'{path}' is unreadable ({str(e)[:80]})") from None
    if not isinstance(sums, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in sums.values()):
        raise ValueError(f"'{path}' is corrupt (not a table of checksums)")
    return sums
