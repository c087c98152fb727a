"""Before `osig reproduce --data SUITE` starts a run: is that suite's real data on this machine?

One sentence saying where to put the files beats a dozen failed runs. Only looks for files (the
real loaders check their contents when a run reads them).
"""
from __future__ import annotations

from pathlib import Path

from osig_core.errors import ConfigError
from osig_core.presets.paper import SUITES


def require_suite_data(suite: str, data_dir: str | None) -> None:
    """ConfigError unless the data the `suite`'s presets train on can be found (synthetic: always)."""
    if suite not in SUITES:
        raise ConfigError(f"unknown preset data '{suite}'; choose one of: {', '.join(SUITES)}")
    if suite == "fashion-mnist":
        from osig_core.data import fashion_mnist as fm
        places = ([Path(data_dir).expanduser()] if data_dir else []) + [fm.DEBIAN_DIR, fm.CACHE_DIR.expanduser()]
        if fm.find_folder(places) is None:
            raise ConfigError("the Fashion-MNIST presets need its four idx files: install the Debian package "
                              f"dataset-fashion-mnist (they go to {fm.DEBIAN_DIR}) or pass --data-dir DIR holding them")
    elif suite == "cifar10":
        from osig_core.data import cifar10
        root = Path(data_dir).expanduser() if data_dir else cifar10.DEFAULT_ROOT.expanduser()
        if cifar10.find_batches(root) is None:
            raise ConfigError("the CIFAR-10 presets run only where the data is: "
                              + cifar10.missing_message(root).replace("CIFAR-10 not found and could not be downloaded: ", ""))
