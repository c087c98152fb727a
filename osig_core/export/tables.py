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


def export_csv(run, out: Path, with_losses: bool = False) -> None:
    """One row per step: the scalars, and with `with_losses` every sample's loss at that step
    (columns loss_0 .. loss_{N-1}, blank on a step without a loss row). Losses are stored as
    float16, which 5 significant digits give back exactly."""
    m = run.metrics()
    keys = [k for k in m if k != "time"]
    rows_of: dict[int, int] = {}
    losses = None
    if with_losses:
        losses = run.losses()
        rows_of = {int(s): r for r, s in enumerate(run.loss_steps())}
    n = 0 if losses is None else losses.shape[1]

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(keys + [f"loss_{i}" for i in range(n)])
            for i in range(len(m["step"])):
                row = [int(m["step"][i])] + ["" if np.isnan(m[k][i]) else repr(float(m[k][i])) for k in keys[1:]]
                r = rows_of.get(int(m["step"][i]))
                if losses is not None:
                    row += [""] * n if r is None else ["" if v != v else f"{v:.5g}" for v in np.asarray(losses[r], np.float32).tolist()]
                w.writerow(row)
    _write_whole(out, write)
