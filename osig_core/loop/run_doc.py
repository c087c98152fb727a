"""config.json of a run: what every reader of a run directory needs, written the same by both drivers
(osig.Monitor adds what only the user's code knows: source "monitor" and the classes it was given)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import torch

from osig_core._version import __version__
from osig_core.store.layout import FORMAT_VERSION


def config_document(config: dict[str, Any], data, loss: str, model: torch.nn.Module) -> dict[str, Any]:
    """`config`: the run's settings as a dict (RunConfig.to_dict()); `loss`: its name or label."""
    return {"format_version": FORMAT_VERSION, "osig_version": __version__, "torch_version": torch.__version__,
            "config": config, "n": data.n, "classes": data.classes, "data_kind": data.kind, "loss": loss,
            "num_outputs": data.num_outputs, "param_count": sum(p.numel() for p in model.parameters()),
            "features": sorted(data.features), "created": datetime.now().isoformat(timespec="seconds"),
            "cpu_threads": torch.get_num_threads()}  # float order differs with the threads: say which arithmetic ran
