"""`python tests/kill_points.py POINT STEP MARKER osig-args...`: runs the osig CLI with one hook that,
at step STEP, stops at POINT, writes MARKER and waits to be killed, so a test can SIGKILL the engine
exactly there (instead of guessing a moment with a clock).

POINT: "estimate" (inside the sharpness estimate: its start vector drawn, its first Hessian-vector product
computed in the step's pass, the rest of the estimate not yet run),
"checkpoint" (half of checkpoint step_STEP written to its temporary file), "row" (the step's loss
row written, its database transaction not yet committed).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path


def _wait_to_be_killed(marker: str) -> None:
    Path(marker).write_text("here")
    while True:  # the test SIGKILLs this process once it sees the marker
        time.sleep(0.05)


def install(point: str, step: int, marker: str) -> None:
    if point == "estimate":
        # the estimate's start vector is drawn before the step's pass (which computes its first
        # product); kill between that pass and the rest of the estimate
        from osig_core.instruments.sharpness import SharpnessInstrument
        measure = SharpnessInstrument.measure

        def stopped_measure(self, ctx):
            if ctx.step == step:
                _wait_to_be_killed(marker)
            return measure(self, ctx)
        SharpnessInstrument.measure = stopped_measure
    elif point == "checkpoint":
        import osig_core.store.checkpoint as ck
        save = ck.save_file

        def half_save(tensors, filename, metadata=None):
            save(tensors, filename, metadata=metadata)
            if f"step_{step:07d}" in str(filename):
                size = Path(filename).stat().st_size
                with open(filename, "r+b") as f:
                    f.truncate(size // 2)
                _wait_to_be_killed(marker)
        ck.save_file = half_save
    elif point == "row":
        from osig_core.store.writer import RunWriter
        write_step = RunWriter.write_step

        def row_then_wait(self, t, scalars, **kw):
            if t == step:
                losses = kw.get("losses")
                if losses is not None:
                    self._losses.seek(self._rows * self.n * 2)
                    self._losses.write(losses.tobytes())
                    self._losses.flush()
                _wait_to_be_killed(marker)
            return write_step(self, t, scalars, **kw)
        RunWriter.write_step = row_then_wait
    else:
        raise SystemExit(f"unknown kill point {point!r}")


if __name__ == "__main__":
    import torch
    torch.set_num_threads(1)
    install(sys.argv[1], int(sys.argv[2]), sys.argv[3])
    sys.argv = ["osig", *sys.argv[4:]]
    from osig_tui.cli import main
    main()
