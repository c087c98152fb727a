"""`--data npz:PATH` with hostile archives (issue 17, finding 6): one sentence and exit 2 each, no run
directory left behind, and nothing in the archive is ever unpickled."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from osig_core.data.npz import read_npz
from osig_core.data.base import DataError

SMALL = ["--model", "mlp", "--width", "0.05", "--steps", "2", "--eval-every", "0", "--checkpoint-every", "0", "--quiet"]


class LeavesAMarker:
    """Unpickling this writes a file: proof that a pickle was executed."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "unpickled"))


def _one_sentence(code: int, err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err)
    return lines[0]


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _cases(tmp: Path) -> dict[str, tuple[Path, str]]:
    x = np.random.default_rng(0).random((20, 4), dtype=np.float32)
    y = np.arange(20) % 2
    huge = np.full(20, 2**63 + 5, dtype=np.uint64)
    not_npy = tmp / "raw.npz"
    with zipfile.ZipFile(not_npy, "w") as z:
        buf = io.BytesIO()
        np.save(buf, x)
        z.writestr("x.npy", buf.getvalue())
        z.writestr("y", b"not an npy member")
    return {
        "uint64 labels >= 2**63": (_npz(tmp / "big.npz", x=x, y=huge), "class ids must be"),
        "a member that is not .npy": (not_npy, "not a NumPy array"),
        "zero-size image samples": (_npz(tmp / "img0.npz", x=np.zeros((20, 0, 32, 3), np.uint8), y=y), "at least one value"),
        "zero-size vectors": (_npz(tmp / "vec0.npz", x=np.zeros((20, 0), np.float32), y=y), "at least one value"),
    }


@pytest.mark.parametrize("case", ["uint64 labels >= 2**63", "a member that is not .npy", "zero-size image samples",
                                  "zero-size vectors"])
def test_each_hostile_archive_is_one_sentence_and_leaves_no_run(cli, tmp_path, case):
    path, phrase = _cases(tmp_path)[case]
    with pytest.raises(DataError, match=phrase):
        read_npz(path)
    run_dir = tmp_path / "run"
    line = _one_sentence(*cli("run", *SMALL, "--data", f"npz:{path}", "--run-dir", run_dir)[::2])
    assert phrase in line and str(path) in line
    assert not run_dir.exists()


def test_a_pickled_member_is_never_unpickled(cli, tmp_path):
    marker = tmp_path / "marker"
    x = np.empty(2, dtype=object)
    x[0], x[1] = LeavesAMarker(str(marker)), LeavesAMarker(str(marker))
    path = tmp_path / "pickled.npz"
    np.savez(path, x=x, y=np.array([0, 1]), allow_pickle=True)
    np.load(path, allow_pickle=True)["x"]  # the archive really would run code if unpickled ...
    assert marker.exists()
    marker.unlink()
    line = _one_sentence(*cli("run", *SMALL, "--data", f"npz:{path}", "--run-dir", tmp_path / "run")[::2])
    assert "Python objects" in line
    assert not marker.exists()  # ... and osig never did
