"""`osig export`: per-step scalars (and optionally the loss matrix) to npz or csv.

The file appears whole or not at all: written under a temporary name and renamed, and a failed
write (a full disk) removes what it wrote and says which file and why in one sentence."""
from __future__ import annotations

import csv
import errno
import os
from pathlib import Path

import numpy as np

from osig_core.store.layout import RunStoreError


def _write_whole(out: Path, write) -> None:
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        why = e.strerror or str(e) or type(e).__name__
        way = "free space on its disk or export to another disk" if e.errno in (errno.ENOSPC, errno.EDQUOT) \
            else "export to a place you can write to"
        raise RunStoreError(f"could not write '{out}' ({why}); nothing was left there: {way}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_npz(run, out: Path, with_losses: bool = False) -> None:
    m = run.metrics()
    arrays = {k: v for k, v in m.items() if k != "time"}
    arrays["labels"] = np.asarray(run.labels())
    if with_losses:
        arrays["losses"] = np.asarray(run.losses(), dtype=np.float16)
        arrays["loss_steps"] = run.loss_steps()

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: savez would otherwise append ".npz" to the temporary name
            np.savez(f, **arrays)
    _write_whole(out, write)


def export_csv(run, out: Path) -> None:
    m = run.metrics()
    keys = [k for k in m if k != "time"]

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(keys)
            for i in range(len(m["step"])):
                w.writerow([int(m["step"][i])] + ["" if np.isnan(m[k][i]) else repr(float(m[k][i])) for k in keys[1:]])
    _write_whole(out, write)
