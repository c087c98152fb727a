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
