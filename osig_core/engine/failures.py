"""One sentence for what ended a run: an exception, or a write to the run directory that failed
mid-run (what failed, where, what is kept, how to go on)."""
from __future__ import annotations

import errno
from pathlib import Path

from osig_core.store import layout as L


def one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def storage_failure(run_dir: Path, step: int, e: BaseException) -> str:
    if isinstance(e, OSError):
        why = (e.strerror or str(e) or type(e).__name__) + (f" ('{e.filename}')" if e.filename else "")
    else:
        why = f"{str(e).strip() or type(e).__name__} ('{run_dir / L.DB_FILE}')"
    full = (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)) or "full" in str(e)
    fix = f"free space on the disk holding '{run_dir}'" if full else "fix this"
    if not any((run_dir / L.CHECKPOINT_DIR).glob("step_*.safetensors")):  # nothing to resume from yet
        return (f"the run stopped at step {step} because writing to its directory failed: {why}; it has no "
                f"checkpoint yet, so {fix} and start it again with --force")
    return (f"the run stopped at step {step} because writing to its directory failed: {why}; the steps before "
            f"it are kept: {fix}, then `osig run --resume {run_dir}` continues from the last checkpoint")
