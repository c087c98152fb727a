"""A flipped byte in a run directory's arrays is reported in one sentence, not served (issue 17,
finding 7): labels, images, features, loss and prediction rows, transposed loss blocks."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import osig_core as osig
from osig_core.store import RunStoreError
from osig_core.store import layout as L

N = 40


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("integrity") / "run"
    osig.train(osig.RunConfig(model="mlp", width=0.05, n=N, n_test=20, steps=L.BLOCK_ROWS + 4, checkpoint_every=128,
                              eval_every=0, groups=False), d)
    return d


@pytest.fixture
def run_copy(pristine, tmp_path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "run"))


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def _sentence(code: int, err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err)
    return lines[0]


@pytest.mark.parametrize("name,offset,read", [
    ("samples/labels.npy", -3, lambda r: r.labels()),
    ("samples/images.npy", -5, lambda r: r.images()),
    ("losses.f16", 7 * N * 2 + 3, lambda r: r.losses()),
    ("preds.u16", 9 * N * 2 + 1, lambda r: r.preds()),
])
def test_a_flipped_byte_is_reported_naming_the_file(cli, run_copy, tmp_path, name, offset, read):
    path = run_copy / name
    _flip(path, offset if offset >= 0 else path.stat().st_size + offset)
    with pytest.raises(RunStoreError, match="does not match its checksum"):  # on open or on reading
        read(osig.open_run(run_copy))
    if name in ("samples/labels.npy", "losses.f16"):  # what export reads
        line = _sentence(*cli("export", run_copy, tmp_path / "o.npz", "--losses")[::2])
        assert Path(name).name in line and "checksum" in line
        assert not (tmp_path / "o.npz").exists()


def test_a_flipped_loss_row_is_named_by_row_and_step(run_copy):
    _flip(run_copy / "losses.f16", 7 * N * 2 + 3)
    with pytest.raises(RunStoreError, match=r"row 7 \(step 7\)"):
        osig.open_run(run_copy).losses()


def test_a_flipped_byte_in_a_transposed_block_is_not_served(run_copy):
    want = osig.open_run(run_copy).loss_history([3, 17])
    _flip(run_copy / L.LOSSES_T_DIR / L.block_name(0), 3 * L.BLOCK_ROWS * 2 + 11)  # sample 3, inside the block
    got = osig.open_run(run_copy).loss_history([3, 17])  # read from the (checked) rows instead
    assert np.array_equal(want, got, equal_nan=True)


def test_feature_ids_outside_the_run_are_refused(run_copy):
    path = run_copy / "samples" / "features.json"
    feats = json.loads(path.read_text())
    feats["planted"] = [-1, -2]
    path.write_text(json.dumps(feats))
    sums = json.loads((run_copy / "samples" / "checksums.json").read_text())
    sums.pop("features.json")  # even without a checksum to catch the edit
    (run_copy / "samples" / "checksums.json").write_text(json.dumps(sums))
    with pytest.raises(RunStoreError, match="sample id -2, outside 0-39"):
        osig.open_run(run_copy).features()


def test_incremental_reads_check_only_new_rows(run_copy, monkeypatch):
    from osig_core.store import integrity
    run = osig.open_run(run_copy)
    run.losses()
    calls = []
    monkeypatch.setattr(integrity, "crc_bytes", lambda data: calls.append(1) or 0)
    run.losses()  # nothing new: nothing checked again
    assert calls == []


def test_a_resume_goes_back_before_a_damaged_row_and_rewrites_it(cli, run_copy, pristine):
    _flip(run_copy / "losses.f16", 200 * N * 2 + 5)  # step 200; checkpoints at 128 and 256 (final 260)
    code, _, err = cli("run", "--resume", run_copy, "--quiet")
    assert code == 0, err
    fixed, ref = osig.open_run(run_copy), osig.open_run(pristine)
    assert np.array_equal(np.asarray(fixed.losses()), np.asarray(ref.losses()), equal_nan=True)


def test_a_changed_value_inside_the_database_is_reported(cli, run_copy, tmp_path):
    """SQLite checks its pages' structure, not the values in them: a digit changed inside a step's
    scalars (what a flipped byte in a text value does) is caught by the checksum committed with it."""
    import sqlite3
    con = sqlite3.connect(run_copy / "run.sqlite")
    with con:
        (text,) = con.execute("SELECT scalars FROM steps WHERE step = 5").fetchone()
        changed = text.replace('"lr":0.05', '"lr":0.07')
        assert changed != text
        con.execute("UPDATE steps SET scalars = ? WHERE step = 5", (changed,))
    con.close()
    with pytest.raises(RunStoreError, match="scalars of step 5 does not match its checksum"):
        osig.open_run(run_copy).metrics()
    line = _sentence(*cli("export", run_copy, tmp_path / "o.csv")[::2])
    assert "run.sqlite" in line and "checksum" in line and not (tmp_path / "o.csv").exists()


def test_a_run_written_before_checksums_is_read_and_resumed(cli, run_copy):
    import sqlite3
    con = sqlite3.connect(run_copy / "run.sqlite")
    with con:
        for table in ("row_checksums", "block_checksums", "payload_checksums"):
            con.execute(f"DROP TABLE {table}")
    con.close()
    (run_copy / "samples" / "checksums.json").unlink()
    run = osig.open_run(run_copy)
    assert run.losses().shape == (L.BLOCK_ROWS + 4, N) and len(run.metrics()["step"]) == L.BLOCK_ROWS + 4
    assert run.loss_history([1]).shape == (L.BLOCK_ROWS + 4, 1) and len(run.labels()) == N
    code, _, err = cli("run", "--resume", run_copy, "--steps", str(L.BLOCK_ROWS + 6), "--quiet")
    assert code == 0, err
    assert osig.open_run(run_copy).losses().shape == (L.BLOCK_ROWS + 6, N)


def test_a_changed_record_payload_is_reported(tmp_path):
    import sqlite3
    d = tmp_path / "g"
    osig.train(osig.RunConfig(model="mlp", width=0.05, n=N, n_test=20, steps=6, eval_every=0, group_window=3), d)
    run = osig.open_run(d)
    extremes = run.records("extremes")
    assert len(extremes) == 5 and run.record_at("extremes", 3)[0] == 3
    con = sqlite3.connect(d / "run.sqlite")
    with con:
        (text,) = con.execute("SELECT payload FROM records WHERE kind = 'extremes' AND step = 3").fetchone()
        con.execute("UPDATE records SET payload = ? WHERE kind = 'extremes' AND step = 3", (text.replace('"id":', '"id": ', 1),))
    con.close()
    run = osig.open_run(d)
    with pytest.raises(RunStoreError, match="'extremes' record of step 3 does not match its checksum"):
        run.records("extremes")
    with pytest.raises(RunStoreError, match="step 3"):
        run.record_at("extremes", 3)
    assert run.record_at("extremes", 5)[0] == 5 and run.records("extremes", since=3)


def test_a_corrupt_row_index_is_refused_before_anything_is_deleted(run_copy):
    """A resume's rollback checks the database's row index inside its transaction: nothing is lost."""
    import sqlite3

    from osig_core.store.writer import RunWriter
    db = run_copy / L.DB_FILE
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE steps SET row = 'x' WHERE step = 1")  # text sorts above every integer: MAX(row)
    before = con.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
    con.close()
    n = len(np.load(run_copy / "samples" / "labels.npy", allow_pickle=False))
    writer = RunWriter(run_copy, n)
    with pytest.raises(RunStoreError, match="corrupt"):
        writer.reopen(keep_through_step=2)
    writer.close()
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == before  # the deletes were rolled back
    con.close()
