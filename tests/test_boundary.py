"""The architecture's boundaries: the engine never imports the UI stack; osig_tui imports only the
osig_core modules listed in TUI_MAY_IMPORT (the training code it reaches through osig_core's
top-level API, loaded on first use); the live monitor reads runs only through the store and the
numpy-only groups package."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from import_graph import import_graph, module_files

ROOT = Path(__file__).resolve().parents[1]
UI_PACKAGES = {"textual", "textual_image", "textual_plotext", "rich", "typer"}

# Everything osig_tui may import from osig_core, and what for ("pkg.*": the package and its modules).
# The engine, the instruments, the models and the optimizers are not here: `osig run` reaches them
# through osig.train / osig.resume, which import them when called.
TUI_MAY_IMPORT = {
    "osig_core": "the public API: RunConfig, ConfigError, train, resume, open_run (lazily loaded)",
    "osig_core.config.run_config": "RunConfig, ConfigError, the flags' defaults and help, read_toml",
    "osig_core.errors": "ConfigError at its home (osig_core.config.run_config re-exports it)",
    "osig_core.components.catalog": "the names `--help` and `osig list` show, without importing torch",
    "osig_core.store.layout": "the run directory's file names and RunStoreError",
    "osig_core.store.reader": "RunReader: every number the monitor shows",
    "osig_core.groups.*": "numpy-only pair analysis of stored losses (`osig watch`, `osig groups`)",
    "osig_core.store.cost": "step rates and cost shares from stored timings",
    "osig_core.store.activity": "what the engine is busy with, read from the store",
    "osig_core.presets.paper": "--preset NAME into settings",
    "osig_core.export.tables": "`osig export` (csv, npz)",
    "osig_core.export.tensorboard": "`osig export --format tensorboard`",
    "osig_core.report": "`osig report`",
    "osig_core.report.reproduce": "`osig reproduce`",
    "osig_core.report.robust": "`osig reproduce --robust`",
    "osig_core.presets.availability": "whether a suite's data is on disk, before `osig reproduce` starts",
    "osig_core.presets.gpu_estimate": "`osig reproduce --data cifar10`'s expected time",
    "osig_core.components.build": "resolve_device, to pick a model's CPU defaults",
    "osig_core.store.run_dirs": "default_run_dir and prepare_run_dir, before `--nproc` launches the ranks",
    "osig_core.sweeps.*": "`osig sweep`: grids, manifests and the process pool",
    "osig_core.sweeps.compare": "`osig compare`",
}
# The live monitor (`osig watch`): these modules read runs through the store and groups only.
MONITOR_MODULES = ("osig_tui.app", "osig_tui.app_bindings", "osig_tui.screens", "osig_tui.widgets",
                   "osig_tui.store_poller", "osig_tui.store_views", "osig_tui.lifecycle")
MONITOR_MAY_IMPORT = {"osig_core.store.layout", "osig_core.store.reader", "osig_core.groups.*", "osig_core.store.cost",
                      "osig_core.store.activity", "osig_core.config.run_config"}


def _allowed(module: str, allowed) -> bool:
    return module in allowed or any(a.endswith(".*") and (module == a[:-2] or module.startswith(a[:-1]))
                                    for a in allowed)


def _tui_imports_of_core(prefixes=("osig_tui",)) -> dict[str, list[str]]:
    graph = import_graph()
    return {m: sorted(t for t in targets if t.split(".")[0] == "osig_core")
            for m, targets in graph.items() if m == prefixes or m.startswith(prefixes)}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_osig_core_never_imports_the_ui_stack():
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & UI_PACKAGES)
                 for p in (ROOT / "osig_core").rglob("*.py") if _imports(p) & UI_PACKAGES}
    assert offenders == {}


def test_importing_the_engine_loads_no_ui_module():
    code = ("import sys, osig_core, osig_core.engine.training, osig_core.groups.detector; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(UI_PACKAGES)!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_monitor_does_not_load_the_training_engine():
    code = ("import sys, osig_tui.app, osig_tui.store_poller; "
            "print(sorted(m for m in sys.modules if m in ('osig_core.engine.training', 'osig_core.problem.passes', 'osig_core.engine.gradients')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_osig_tui_imports_only_the_listed_osig_core_modules():
    offenders = [f"{m} imports {t}" for m, targets in _tui_imports_of_core().items()
                 for t in targets if not _allowed(t, TUI_MAY_IMPORT)]
    assert not offenders, "not in TUI_MAY_IMPORT (use osig_core's top-level API, or add it there with a reason):\n" + \
        "\n".join(offenders)


def test_the_monitor_reads_runs_only_through_the_store_and_groups():
    offenders = [f"{m} imports {t}" for m, targets in _tui_imports_of_core(MONITOR_MODULES).items()
                 for t in targets if not _allowed(t, MONITOR_MAY_IMPORT)]
    assert not offenders, "\n".join(offenders)


def test_the_groups_package_is_numpy_only():
    """numpy and the standard library, and nothing of osig_core outside osig_core.groups."""
    allowed_third_party = {"numpy"}
    offenders, graph = {}, import_graph()
    for name, path in module_files().items():
        if not name.startswith("osig_core.groups"):
            continue
        third = {t for t in _imports(path) if t not in sys.stdlib_module_names and t != "osig_core"}
        ours = {t for t in graph[name] if not t.startswith("osig_core.groups")}
        if third - allowed_third_party or ours:
            offenders[name] = sorted((third - allowed_third_party) | ours)
    assert offenders == {}


def test_the_monitor_and_osig_groups_load_no_torch():
    code = ("import sys, osig_tui.app, osig_tui.store_poller, osig_tui.store_views, osig_tui.commands_groups, "
            "osig_core.groups.detector, osig_core.groups.evaluate, osig_core.groups.render, osig_core.groups.synth; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
