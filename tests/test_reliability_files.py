"""Bad run directories: truncated, corrupted, missing or newer-format files give one sentence naming
the file (`osig show`, `osig export`, `osig run --resume`, `osig_core.open_run`), never a traceback;
`--resume` skips an unreadable newest checkpoint. And nothing in a run directory is ever unpickled."""
from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import osig_core as osig
from osig_core.store import RunStoreError
from osig_core.store.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """A finished 6-step run with checkpoints at 2, 4 and 6."""
    d = tmp_path_factory.mktemp("files") / "base"
    cfg = osig.RunConfig(model="mlp", width=0.05, n=100, n_test=50, steps=6, checkpoint_every=2, eval_every=0)
    osig.train(cfg, d)
    return d


@pytest.fixture
def run_copy(base_run, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(base_run, d)
    return d


def _sentence(err: str) -> str:
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("osig: error: ")
    return lines[0]


def _flip(path: Path, offset: int) -> None:
    b = bytearray(path.read_bytes())
    b[offset % len(b)] ^= 0xFF
    path.write_bytes(bytes(b))


def _truncate(path: Path, keep: float = 0.5) -> None:
    b = path.read_bytes()
    path.write_bytes(b[: int(len(b) * keep)])


def _edit_config(d: Path, **changes) -> None:
    doc = json.loads((d / "config.json").read_text())
    doc.update(changes)
    (d / "config.json").write_text(json.dumps(doc))


# (how to break it, the file the sentence must name, a phrase it must contain)
BROKEN_RUNS = {
    "config missing": (lambda d: (d / "config.json").unlink(), "config.json", "not an osig run"),
    "config truncated": (lambda d: _truncate(d / "config.json"), "config.json", "corrupt"),
    "config binary": (lambda d: (d / "config.json").write_bytes(b"\xff\xfe\x00garbage"), "config.json", "corrupt"),
    "config is a list": (lambda d: (d / "config.json").write_text("[1, 2]"), "config.json", "corrupt"),
    "config section not a table": (lambda d: _edit_config(d, config=[1, 2]), "config.json", "corrupt"),
    "config n not a number": (lambda d: _edit_config(d, n="many"), "config.json", "corrupt"),
    "config wrong type": (lambda d: _edit_config(d, config={"lr": "fast"}), "config.json", "corrupt"),
    "newer format": (lambda d: _edit_config(d, format_version=99), "format 99", "newer osig"),
    "database missing": (lambda d: (d / "run.sqlite").unlink(), "run.sqlite", "missing"),
    "database truncated": (lambda d: _truncate(d / "run.sqlite", 0.3), "run.sqlite", ""),
    "database garbage": (lambda d: (d / "run.sqlite").write_bytes(b"\x00garbage" * 500), "run.sqlite", ""),
    "directory is a file": (lambda d: (shutil.rmtree(d), d.write_text("x")), "copy", "not a directory"),
}


@pytest.mark.parametrize("case", list(BROKEN_RUNS))
def test_broken_run_directory_gives_one_sentence_everywhere(cli, run_copy, tmp_path, case):
    breaker, names, phrase = BROKEN_RUNS[case]
    breaker(run_copy)
    for args in (("show", run_copy), ("export", run_copy, tmp_path / "o.npz", "--losses"),
                 ("export", run_copy, tmp_path / "o.csv"), ("run", "--resume", run_copy, "--quiet")):
        code, _, err = cli(*args)
        line = _sentence(err)
        assert code == 2 and names in line and phrase in line, (args, line)
    with pytest.raises(RunStoreError, match=re.escape(names)):
        r = osig.open_run(run_copy)
        r.metrics()  # a database can look fine until it is read
    code, out, err = cli("ls", run_copy.parent)  # a broken run is listed as such, the listing goes on
    assert code == 0 and not err, err


@pytest.mark.parametrize("case,target,breaker", [
    ("losses truncated", "losses.f16", lambda p: _truncate(p, 0.5)),
    ("losses missing", "losses.f16", lambda p: p.unlink()),
    ("labels missing", "samples/labels.npy", lambda p: p.unlink()),
    ("labels corrupt", "samples/labels.npy", lambda p: p.write_bytes(b"\x93NUMPY garbage")),
    ("labels pickled", "samples/labels.npy", lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)),
])
def test_broken_matrices_and_samples_name_the_file(cli, run_copy, tmp_path, case, target, breaker):
    breaker(run_copy / target)
    code, _, err = cli("export", run_copy, tmp_path / "o.npz", "--losses")
    line = _sentence(err)
    assert code == 2 and Path(target).name in line, line
    if "missing" in case:
        assert "missing" in line
    code, out, err = cli("show", run_copy)  # show reads neither: it still works
    assert code == 0, err
    if case == "losses missing":  # resume needs the recorded rows before its checkpoint
        code, _, err = cli("run", "--resume", run_copy, "--quiet")
        assert code == 2 and "losses.f16" in _sentence(err)
    elif case == "losses truncated":  # it goes back to the newest checkpoint whose rows are all there
        total = osig.open_run(run_copy).config.steps
        code, _, err = cli("run", "--resume", run_copy, "--quiet")
        assert code == 0, err
        run = osig.open_run(run_copy)
        assert list(run.loss_steps()) == list(range(total)) and np.isfinite(np.asarray(run.losses(), np.float32)).all()


def test_resume_skips_an_unreadable_newest_checkpoint(cli, run_copy):
    ckpts = sorted((run_copy / "checkpoints").glob("*.safetensors"))
    _truncate(ckpts[-1], 0.6)  # step 6
    _flip(ckpts[-2], -10)  # step 4: one bit in the tensor data; only the checksum sees it
    with pytest.raises(RunStoreError, match="step_0000004.safetensors.*checksum"):
        load_checkpoint(ckpts[-2])
    with pytest.raises(RunStoreError, match="step_0000006.safetensors"):
        load_checkpoint(ckpts[-1])
    code, _, err = cli("run", "--resume", run_copy, "--steps", "8", "--quiet")
    assert code == 0, err
    run = osig.open_run(run_copy)
    assert run.steps_done() == 8 and run.status()[0] == "finished"
    resume = [e for e in run.events() if e["kind"] == "resume"][-1]
    assert resume["step"] == 2 and "step_0000006" in resume["message"] and "step_0000004" in resume["message"]


def test_resume_with_no_usable_checkpoint(cli, run_copy, base_run, tmp_path):
    for p in (run_copy / "checkpoints").glob("*.safetensors"):
        p.write_bytes(b"not a checkpoint")
    code, _, err = cli("run", "--resume", run_copy, "--quiet")
    assert code == 2 and "checkpoints" in _sentence(err) and "corrupt" in _sentence(err)
    # a checkpoint of another model (shapes differ) does not fit: one sentence naming it
    other = tmp_path / "other"
    osig.train(osig.RunConfig(model="mlp", width=0.1, n=100, n_test=50, steps=2, eval_every=0, groups=False), other)
    shutil.rmtree(run_copy / "checkpoints")
    (run_copy / "checkpoints").mkdir()
    shutil.copy(next((other / "checkpoints").glob("*.safetensors")), run_copy / "checkpoints" / "step_0000004.safetensors")
    code, _, err = cli("run", "--resume", run_copy, "--quiet")
    assert code == 2 and "does not fit" in _sentence(err)
    shutil.rmtree(run_copy / "checkpoints")
    code, _, err = cli("run", "--resume", run_copy, "--quiet")
    assert code == 2 and "no checkpoint to resume from" in _sentence(err)
    # the failed attempts took no lock with them: the same process can resume once a checkpoint is back
    shutil.copytree(base_run / "checkpoints", run_copy / "checkpoints")
    code, _, err = cli("run", "--resume", run_copy, "--steps", "7", "--quiet")
    assert code == 0, err


def test_model_from_a_corrupt_checkpoint_is_one_error(run_copy):
    ckpts = sorted((run_copy / "checkpoints").glob("*.safetensors"))
    for c in ckpts:
        _flip(c, -3)
    with pytest.raises(RunStoreError, match="checkpoint '.*step_0000006.safetensors' is corrupt"):
        osig.open_run(run_copy).model()


# ---------------------------------------------------------------------- nothing is ever unpickled
ALLOWED_PICKLE: set[str] = set()  # CIFAR-10 is read from its binary batches: no module may unpickle
UNPICKLING_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}


def _sources() -> list[Path]:
    files = [p for d in ("osig_core", "osig_tui", "benchmarks") for p in (REPO / d).rglob("*.py")]
    return [p for p in files if "__pycache__" not in p.parts]


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def unpickling_uses(tree: ast.AST) -> list[str]:
    """Every way in `tree` to unpickle: importing an unpickling module, torch.load, np.load without
    allow_pickle=False, allow_pickle=True, pandas read_pickle, importing pickle by name at run time."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in UNPICKLING_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNPICKLING_MODULES:
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and node.attr in ("read_pickle", "load") and \
                _dotted(node.value) in ("torch", "torch.serialization"):
            found.append(_dotted(node))
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle" and \
                not (isinstance(node.value, ast.Constant) and node.value.value is False):
            found.append("allow_pickle not literally False")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in ("np.load", "numpy.load") and not any(k.arg == "allow_pickle" for k in node.keywords):
                found.append(f"{name}(...) without allow_pickle=False")
            if name.endswith("read_pickle"):
                found.append(name)
            if name in ("__import__", "importlib.import_module") and node.args and \
                    isinstance(node.args[0], ast.Constant) and str(node.args[0].value).split(".")[0] in UNPICKLING_MODULES:
                found.append(f"{name}({node.args[0].value!r})")
    return found


def test_the_unpickling_scan_catches_what_it_should():
    sample = """
import pickle
from joblib import load
import numpy as np, torch
torch.load ("m.pt")
np.load("a.npy")
np.load("a.npy", allow_pickle=True)
np.load("a.npy", allow_pickle=flag)
__import__("cPickle")
ok = np.load("b.npy", allow_pickle=False)  # and a docstring saying 'no pickle, no torch.load' is fine
"""
    assert len(unpickling_uses(ast.parse(sample))) == 7


def test_no_source_file_unpickles_anything():
    bad = []
    for path in _sources():
        rel = path.relative_to(REPO).as_posix()
        uses = unpickling_uses(ast.parse(path.read_text(encoding="utf-8")))
        if rel in ALLOWED_PICKLE:
            uses = [u for u in uses if u != "import pickle"]
        bad += [f"{rel}: {u}" for u in uses]
        code = "\n".join(line.split("#")[0] for line in path.read_text(encoding="utf-8").splitlines())
        if re.search(r"torch\.load\(|allow_pickle\s*=\s*True", code):  # the plain grep, belt and braces
            bad.append(f"{rel}: a torch load call or allow_pickle=True")
    assert not bad, bad


def test_cifar10_is_read_without_pickle():
    tree = ast.parse((REPO / "osig_core/data/cifar10.py").read_text())
    assert not unpickling_uses(tree)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert "pickle" not in imported
