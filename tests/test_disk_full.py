"""A full disk anywhere (issue 17, finding 4): one sentence naming the file and the way out that
actually exists; no partial checkpoint or export file is left. Simulated by making the writes fail
with ENOSPC (as safetensors, numpy and the csv module report it)."""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest
from safetensors import SafetensorError

import osig_core as osig
from osig_core.store.writer import RunWriter

N = 60
TINY = ["--model", "mlp", "--width", "0.05", "--n", str(N), "--n-test", "20", "--eval-every", "0",
        "--checkpoint-every", "4", "--quiet"]


def _sentence(code: int, err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err)
    return lines[0]


def test_a_full_disk_while_writing_a_checkpoint_names_it_and_leaves_no_part(cli, monkeypatch, tmp_path):
    import osig_core.store.checkpoint as ck
    save = ck.save_file

    def full(tensors, filename, metadata=None):
        if "step_0000008" in filename:
            with open(filename, "wb") as f:
                f.write(b"part of a checkpoint")
            raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                                  'message: "No space left on device" })')
        return save(tensors, filename, metadata=metadata)
    monkeypatch.setattr(ck, "save_file", full)
    d = tmp_path / "r"
    line = _sentence(*cli("run", *TINY, "--steps", "20", "--run-dir", d)[::2])
    assert "step_0000008.safetensors" in line and "No space left on device" in line
    assert "free space" in line and f"osig run --resume {d}" in line
    assert sorted(p.name for p in (d / "checkpoints").iterdir()) == ["step_0000004.safetensors"]
    monkeypatch.setattr(ck, "save_file", save)
    code, _, err = cli("run", "--resume", d, "--quiet")
    assert code == 0, err
    assert list(osig.open_run(d).metrics()["step"]) == list(range(20))


def test_a_full_disk_before_the_first_checkpoint_advises_force_not_resume(cli, monkeypatch, tmp_path):
    write_step = RunWriter.write_step

    def full(self, step, scalars, **kw):
        if step == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.dir / "losses.f16"))
        return write_step(self, step, scalars, **kw)
    monkeypatch.setattr(RunWriter, "write_step", full)
    d = tmp_path / "r"
    line = _sentence(*cli("run", *TINY, "--steps", "20", "--run-dir", d)[::2])
    assert "losses.f16" in line and "no checkpoint" in line and "--force" in line and "--resume" not in line


def test_a_full_disk_while_creating_a_run_is_one_sentence(cli, monkeypatch, tmp_path):
    def full(self, *a, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.dir / "samples" / "labels.npy"))
    monkeypatch.setattr(RunWriter, "write_samples", full)
    line = _sentence(*cli("run", *TINY, "--steps", "3", "--run-dir", tmp_path / "r")[::2])
    assert "labels.npy" in line and "free space" in line and "--force" in line


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    d = tmp_path_factory.mktemp("full") / "r"
    osig.train(osig.RunConfig(model="mlp", width=0.05, n=N, n_test=20, steps=3, eval_every=0), d)
    return d


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_an_export_onto_a_full_disk_names_the_file_and_leaves_nothing(cli, monkeypatch, tmp_path, finished, suffix):
    import osig_core.export.tables as ex
    if suffix == ".npz":
        def savez(f, **arrays):
            f.write(b"PK partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        monkeypatch.setattr(ex.np, "savez", savez)
    else:
        class Writer:
            def __init__(self, f):
                self.f = f

            def writerow(self, row):
                self.f.write("partial,")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        monkeypatch.setattr(ex.csv, "writer", Writer)
    out = tmp_path / f"out{suffix}"
    line = _sentence(*cli("export", finished, out)[::2])
    assert str(out) in line and "No space left on device" in line and "free space" in line
    assert list(tmp_path.iterdir()) == []


def test_an_export_that_succeeds_is_whole(cli, tmp_path, finished):
    code, _, err = cli("export", finished, tmp_path / "o.npz", "--losses")
    assert code == 0, err
    with np.load(tmp_path / "o.npz", allow_pickle=False) as z:
        assert z["losses"].shape == (3, N)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.npz"]
