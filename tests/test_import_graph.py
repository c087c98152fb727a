"""No import cycles in osig_core or osig_tui: a cycle makes import order matter (a half-initialised
module raises ImportError or hands out a missing name) and ties packages together that should layer.
The graph is read from the source (tests/import_graph.py), so a function-level import counts too."""
from __future__ import annotations

import textwrap

from import_graph import cycles, import_graph, strongly_connected

def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles (each line: the modules of one strongly connected component):\n" + \
        "\n".join(f"  {len(c)}: {', '.join(c)}" for c in found)


def test_the_graph_resolves_relative_and_submodule_imports(tmp_path):
    """The checker itself: relative imports, `from pkg import submodule`, function-level imports and
    TYPE_CHECKING blocks, on a tiny package with one cycle."""
    pkg = tmp_path / "p"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from . import b\n",
        "b.py": "def f():\n    from .sub import c\n",
        "sub/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p import a\n",
        "sub/c.py": "from ..a import x\nimport p.sub\n",
        "d.py": "from p.sub import c, nothing\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(textwrap.dedent(text))
    graph = import_graph(tmp_path, ("p",))
    assert graph == {"p": set(), "p.a": {"p.b"}, "p.b": {"p.sub.c"}, "p.sub": set(),
                     "p.sub.c": {"p.a", "p.sub"}, "p.d": {"p.sub.c", "p.sub"}}
    assert cycles(graph) == [["p.a", "p.b", "p.sub.c"]]
    assert sorted(map(len, strongly_connected(graph))) == [1, 1, 1, 3]


# The layers of osig_core, one package (or top-level module) each: what it may import of osig_core.
# docs/architecture.md draws the same table; a new arrow is a design decision, made here and there.
PACKAGE_MAY_IMPORT = {
    "_version": set(), "errors": set(),
    "groups": set(),                       # numpy only: opposing-signal groups from stored losses
    "problem": set(),                      # the per-sample loss and passes over the training set
    "optim": set(),                        # optimizer specs and stability thresholds
    "data": {"errors", "problem"},
    "models": {"data"},
    "components": {"data", "errors", "optim"},
    "config": {"components", "errors"},
    "store": {"config", "errors"},
    "instruments": {"components", "data", "problem"},
    "loop": {"_version", "data", "groups", "instruments", "problem", "store"},
    "export": {"config", "groups", "store"},
    "presets": {"config", "data", "errors"},
    "sweeps": {"config", "errors", "store"},
    "api": {"components", "config", "store"},
    "engine": {"api", "components", "config", "data", "instruments", "loop", "optim", "problem", "store"},
    "monitor": {"components", "config", "data", "export", "instruments", "loop", "optim", "problem", "store"},
    "integrations": {"config", "monitor"},
    "report": {"api", "components", "config", "groups", "instruments", "osig_core", "presets", "store"},
    "osig_core": {"_version", "config", "engine", "store"},  # the package's face: the public API
}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_osig_core_packages_import_only_the_layers_below_them():
    graph = import_graph()
    unknown = sorted({_package(m) for m in graph if m.startswith("osig_core")} - set(PACKAGE_MAY_IMPORT))
    assert not unknown, f"packages missing from PACKAGE_MAY_IMPORT (place them in a layer): {unknown}"
    breaches = sorted(f"{m} -> {t}" for m, targets in graph.items() if m.startswith("osig_core")
                      for t in targets if t.startswith("osig_core") and _package(t) != _package(m)
                      and _package(t) not in PACKAGE_MAY_IMPORT[_package(m)])
    assert not breaches, "imports across layers that PACKAGE_MAY_IMPORT does not allow:\n  " + "\n  ".join(breaches)
    assert not cycles(PACKAGE_MAY_IMPORT), "the layer table itself has a cycle"
