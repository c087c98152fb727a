"""`osig export`: per-step scalars (and optionally the loss matrix) to npz or csv."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def export_npz(run, out: Path, with_losses: bool = False) -> None:
    m = run.metrics()
    arrays = {k: v for k, v in m.items() if k != "time"}
    arrays["labels"] = np.asarray(run.labels())
    if with_losses:
        arrays["losses"] = np.asarray(run.losses(), dtype=np.float16)
        arrays["loss_steps"] = run.loss_steps()
    np.savez(out, **arrays)


def export_csv(run, out: Path) -> None:
    m = run.metrics()
    keys = [k for k in m if k != "time"]
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for i in range(len(m["step"])):
            w.writerow([int(m["step"][i])] + ["" if np.isnan(m[k][i]) else repr(float(m[k][i])) for k in keys[1:]])
