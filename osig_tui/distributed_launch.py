"""`osig run --nproc N`: re-run this same command under torch's own launcher with N processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from osig_core.config.run_config import RunConfig
from osig_core.store.run_dirs import default_run_dir, prepare_run_dir


def launch_distributed(cfg: RunConfig, run_dir: Path | None, force: bool, quiet: bool) -> int:
    """Every rank gets the same argv plus a fixed --run-dir; WORLD_SIZE in their environment keeps
    them from launching again. Returns the launcher's exit code (rank 0's errors are printed by it)."""
    path = Path(run_dir) if run_dir is not None else default_run_dir(cfg)
    prepare_run_dir(path, force)
    argv = [a for a in sys.argv[1:]]
    argv = _drop_option(argv, "--run-dir") + ["--run-dir", str(path)]
    argv = [a for a in argv if a != "--force"]
    # The arguments travel in the environment: torchrun's own parser would claim flags like --n.
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={cfg.nproc}",
           "-m", "osig_tui.distributed_rank"]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), OSIG_DIST_ARGV=json.dumps(argv))
    return subprocess.call(cmd, env=env)


def _drop_option(argv: list[str], name: str) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == name:
            skip = True
            continue
        if a.startswith(name + "="):
            continue
        out.append(a)
    return out

