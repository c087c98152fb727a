"""The architecture's one boundary: the engine never imports the UI stack, and the app reads runs
only through the store (it never imports the training code)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI_PACKAGES = {"textual", "textual_image", "textual_plotext", "rich", "typer"}


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
    code = ("import sys, osig_core, osig_core.engine, osig_core.groups.detector; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(UI_PACKAGES)!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_monitor_does_not_load_the_training_engine():
    code = ("import sys, osig_tui.app, osig_tui.store_poller; "
            "print(sorted(m for m in sys.modules if m in ('osig_core.engine', 'osig_core.passes', 'osig_core.gradients')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
