"""What can be named on the command line, listed without importing torch (for `osig list`, `--help`).

Built-in names are read from the `@register_*("name")` lines of osig's own modules (parsed, not
imported); plugins are the entry points that installed packages declare in the groups below
(listed from their metadata, not loaded). Resolving a name into something that runs is
osig_core.plugins' job.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

GROUPS = {"models": "osig.models", "datasets": "osig.datasets", "optimizers": "osig.optimizers"}
_PACKAGES = {"models": ("models", "register_model"), "datasets": ("data", "register_dataset"),
             "optimizers": ("optim", "register_optimizer")}
TORCH_OPTIM = "torch:"  # --optim torch:AdamW: any torch.optim optimizer by class name


@dataclass(frozen=True)
class Entry:
    name: str
    summary: str
    source: str  # "built-in" or the distribution and target of an entry point ("pkg 1.0: mod:obj")


def _doc_line(node: ast.AST) -> str:
    doc = ast.get_docstring(node) if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module)) else None
    return doc.strip().splitlines()[0] if doc else ""


def builtin(kind: str) -> list[Entry]:
    """Names registered by osig's own modules, with the builder's first docstring line (or summary=)."""
    package, decorator = _PACKAGES[kind]
    out: list[Entry] = []
    for path in sorted((Path(__file__).parent / package).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        module_doc = _doc_line(tree)
        for node in ast.walk(tree):
            for call in _register_calls(node, decorator):
                name = call.args[0].value
                out.append(Entry(name, _summary(node, call) or module_doc, "built-in"))
    return sorted(out, key=lambda e: e.name)


def _register_calls(node: ast.AST, decorator: str) -> list[ast.Call]:
    candidates: list[ast.AST] = list(getattr(node, "decorator_list", []))
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
        candidates.append(node.value.func)  # NAME = register_optimizer("x")(OptimizerSpec(...))
    return [c for c in candidates if isinstance(c, ast.Call) and getattr(c.func, "id", None) == decorator
            and c.args and isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, str)]


def _summary(node: ast.AST, call: ast.Call) -> str:
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
        for inner in node.value.args:
            for kw in getattr(inner, "keywords", []):
                if kw.arg == "summary" and isinstance(kw.value, ast.Constant):
                    return str(kw.value.value)
    return _doc_line(node)


def entry_points(kind: str) -> list[metadata.EntryPoint]:
    try:
        return sorted(metadata.entry_points(group=GROUPS[kind]), key=lambda e: e.name)
    except Exception:  # a broken installed distribution must not break the CLI
        return []


def plugins(kind: str) -> list[Entry]:
    out = []
    for ep in entry_points(kind):
        dist = getattr(ep, "dist", None)
        who = f"{dist.name} {dist.version}" if dist is not None else "entry point"
        out.append(Entry(ep.name, "", f"{who}: {ep.value}"))
    return out


def names(kind: str) -> list[str]:
    """Every name `osig run` accepts for this kind, built-in first (patterns excluded)."""
    return [e.name for e in builtin(kind)] + [e.name for e in plugins(kind) if e.name not in {b.name for b in builtin(kind)}]


PATTERNS = {"models": ["pkg.module:factory  (a function returning an nn.Module)"],
            "datasets": ["pkg.module:factory  (a function returning (x, y), (x, y, classes), a torch Dataset or an osig Dataset)",
                         "npz:PATH, text:PATH"],
            "optimizers": ["torch:NAME  (any torch.optim optimizer, e.g. torch:AdamW; --opt-args '{\"weight_decay\": 0.1}')"]}
