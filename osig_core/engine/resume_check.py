"""Which checkpoint a resume continues from, decided before anything in the run is touched.

A checkpoint `step_s` holds the state before step s, so it can be continued only when the database
commits every step 0..s-1 and the loss/prediction row files hold those steps' rows. A database that
is behind the newest checkpoint (a lost WAL, a directory copied while live) or a truncated row file
makes the resume go back to the newest checkpoint that is fully covered; if none is, the run is
left exactly as it was and the reason is one sentence.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from osig_core.store import layout as L
from osig_core.store.checkpoint import load_checkpoint
from osig_core.store.reader import RunReader


def choose_checkpoint(reader: RunReader, load: Callable[[dict, Path], None]) -> list[str]:
    """Load (with `load`) the newest checkpoint that loads and that the store covers; returns notes on
    the newer ones passed over. Raises RunStoreError, having changed nothing on disk, when none fits."""
    run_dir = reader.dir
    ckpts = reader.checkpoints()
    if not ckpts:
        raise L.RunStoreError(f"'{run_dir}' has no checkpoint to resume from (it ended before its first "
                              f"checkpoint); start it again with --force")
    covered = reader.covered_steps()
    notes: list[str] = []
    uncovered: list[int] = []
    for step, path in reversed(ckpts):
        if step > covered:
            uncovered.append(step)
            notes.append(f"{path.name} (the database records only steps before {covered})")
            continue
        try:
            reader.rows_before(step)  # the rows the resumed recorder reads back, present and whole
        except L.RunStoreError as e:
            notes.append(f"{path.name} ({e})")
            continue
        try:
            load(load_checkpoint(path), path)
        except L.RunStoreError as e:
            notes.append(f"{path.name} ({str(e).removeprefix(f'checkpoint {str(path)!r} ')})")
            continue
        return notes
    if len(uncovered) == len(ckpts):
        has = f"steps 0-{covered - 1} only" if covered else "no step"
        raise L.RunStoreError(
            f"'{run_dir}' cannot be resumed: its database records {has}, before its oldest "
            f"checkpoint (step {min(uncovered)}), so steps would be missing; start it again with --force")
    raise L.RunStoreError(f"no checkpoint in '{run_dir / L.CHECKPOINT_DIR}' can be continued (the oldest: "
                          f"{notes[-1][:300]}); start the run again with --force")


def check_data_fits(reader: RunReader, data) -> None:
    """The data the resumed engine rebuilt from config.json must be the data the run recorded."""
    import numpy as np
    cfg_path = reader.dir / L.CONFIG_FILE
    if data.n != reader.n:
        raise L.RunStoreError(f"'{cfg_path}' does not rebuild the run's data: it gives {data.n} samples, "
                              f"the run recorded {reader.n}; the run directory is inconsistent")
    if list(data.classes) != list(reader.classes):
        raise L.RunStoreError(f"'{cfg_path}' does not rebuild the run's data: its classes differ from the recorded ones")
    stored = reader.labels()
    if not np.array_equal(np.asarray(stored), data.y.detach().cpu().numpy()):
        raise L.RunStoreError(f"'{reader.dir / L.SAMPLES_DIR / 'labels.npy'}' does not match the data that "
                              f"'{cfg_path}' rebuilds; the run directory is inconsistent")
