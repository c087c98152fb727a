"""What can be named on the command line, listed without importing torch (for `osig list`, `--help`).

Built-in names are read from osig_core.components.registry's tables, their summaries from the builders' source
(parsed, not imported); plugins are the entry points that installed packages declare in the groups below
(listed from their metadata, not loaded). Resolving a name into something that runs is
osig_core.components.plugins' job.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from osig_core.components.registry import BUILTIN_DATASETS, BUILTIN_MODELS, BUILTIN_OPTIMIZERS

GROUPS = {"models": "osig.models", "datasets": "osig.datasets", "optimizers": "osig.optimizers"}
BUILTIN = {"models": BUILTIN_MODELS, "datasets": BUILTIN_DATASETS, "optimizers": BUILTIN_OPTIMIZERS}
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
    """The registry's built-in names, with the builder's first docstring line (or summary=), else
    its module's: read from the source, so that listing them imports no builder."""
    out: list[Entry] = []
    for name, target in BUILTIN[kind].items():
        module, _, attr = target.partition(":")
        path = Path(__file__).parent.joinpath(*module.split(".")[1:]).with_suffix(".py")
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            tree = ast.Module(body=[], type_ignores=[])
        out.append(Entry(name, _summary(tree, attr) or _doc_line(tree), "built-in"))
    return sorted(out, key=lambda e: e.name)


def _summary(tree: ast.Module, attr: str) -> str:
    """The docstring of `def attr`, or the summary= keyword of `attr = OptimizerSpec(...)`."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == attr:
            return _doc_line(node)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == attr for t in node.targets) \
                and isinstance(node.value, ast.Call):
            for kw in node.value.keywords:
                if kw.arg == "summary" and isinstance(kw.value, ast.Constant):
                    return str(kw.value.value)
    return ""


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


def is_builtin(kind: str, name: str) -> bool:
    """A name osig resolves without importing anyone's code: a registry entry, npz:PATH/text:PATH
    (a built-in dataset reading a file) or torch:NAME (an optimizer of torch itself)."""
    if kind == "datasets":
        return name in BUILTIN[kind] or name.split(":", 1)[0] in BUILTIN[kind]
    return name in BUILTIN[kind] or (kind == "optimizers" and name.startswith(TORCH_OPTIM))


def outside_code(model: str, data: str, optim: str) -> list[str]:
    """One line per name that runs code from outside osig and torch, saying what it imports: an
    installed entry point, or the module of a `pkg.module:factory`. Read from the names and the
    installed metadata only: nothing is imported here."""
    out = []
    for kind, flag, name in (("models", "--model", model), ("datasets", "--data", data), ("optimizers", "--optim", optim)):
        if is_builtin(kind, name):
            continue
        ep = next((e for e in entry_points(kind) if e.name == name), None)
        if ep is not None:
            dist = getattr(ep, "dist", None)
            who = f" of {dist.name} {dist.version}" if dist is not None else ""
            out.append(f"{flag} {name}: loads the {GROUPS[kind]} entry point {ep.value}{who}")
        elif kind != "optimizers" and ":" in name:
            module, _, attr = name.partition(":")
            out.append(f"{flag} {name}: imports the module {module} and calls {attr}")
    return out


PATTERNS = {"models": ["pkg.module:factory  (a function returning an nn.Module)"],
            "datasets": ["pkg.module:factory  (a function returning (x, y), (x, y, classes), a torch Dataset or an osig Dataset)",
                         "npz:PATH, text:PATH"],
            "optimizers": ["torch:NAME  (any torch.optim optimizer, e.g. torch:AdamW; --opt-args '{\"weight_decay\": 0.1}')"]}
