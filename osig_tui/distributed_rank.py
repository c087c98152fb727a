"""One rank of `osig run --nproc N`: torch.distributed.run starts `python -m osig_tui.distributed_rank`
in each process, which runs the `osig` command with the arguments the launcher passed in the
environment (osig_tui.distributed_launch). A module of its own so that the launcher, which the CLI
imports, does not import the CLI back."""
from __future__ import annotations

import json
import os
import sys

if __name__ == "__main__":
    from osig_tui.cli import main
    sys.argv = ["osig", *json.loads(os.environ["OSIG_DIST_ARGV"])]
    main()
