"""`osig export RUN --tensorboard DIR`: read back with TensorBoard's own reader, every scalar equals
the run's, the band and layer shares are there, the outlier pictures are the right samples, and the
command stays torch-free. CI installs tensorboard through the test extra."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboard", reason='pip install "osig[tensorboard]"')
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

import osig_core as osig  # noqa: E402
from osig_core.config.run_config import RunConfig  # noqa: E402
from osig_core.export.tensorboard import GAP  # noqa: E402
from osig_core.groups.extremes import clean_delta, extremes_record, top_k_extremes  # noqa: E402
from osig_core.export.step_measurements import tag_for  # noqa: E402
from osig_core.store import FORMAT_VERSION, RunWriter  # noqa: E402

TESTS = Path(__file__).resolve().parent
N, STEPS, H, W = 30, 10, 6, 5
MODULES = {"body.0": 0.7, "head": 0.3}


def _write(path: Path, kind: str = "image") -> Path:
    """A run with sharpness, its bound (and an upper end on some steps), layer shares, loss rows on
    even steps and odd step 9, stored extremes on some of them only (the rest are computed)."""
    rng = np.random.default_rng(1)
    classes = ["a", "b", "c"]
    labels = np.arange(N) % 3
    w = RunWriter(path, N)
    w.acquire_lock()
    w.create({"format_version": FORMAT_VERSION, "osig_version": "test", "torch_version": "none",
              "config": RunConfig(model="mlp", n=N, steps=STEPS).to_dict(), "n": N, "classes": classes,
              "data_kind": kind, "loss": "ce", "num_outputs": 3, "param_count": 1, "features": [],
              "created": "2024-01-01T00:00:00"})
    images = rng.integers(0, 256, (N, H, W, 3), dtype=np.uint8) if kind == "image" else None
    texts = [f"text {i}" for i in range(N)] if kind == "text" else None
    w.write_samples(labels, images, texts, {}, None)
    prev = prev_preds = None
    for t in range(STEPS):
        s = {"train_loss": 1.0 / (t + 1), "lr": 0.1, "step_time": 0.01 * t, "train_acc": 0.1 * t}
        records, losses, preds = {}, None, None
        if t % 2 == 0 or t == 9:
            losses = rng.uniform(0, 2, N).astype(np.float16)
            preds = rng.integers(0, 3, N)
            if prev is not None:
                delta = clean_delta(prev, losses)
                s["frac_up"] = float((delta > 0).mean())
                s["opposing_score"] = 0.25 * t
                if t in (2, 6):
                    up, down = top_k_extremes(delta, 4)
                    records["extremes"] = extremes_record(delta, up, down, labels, prev_preds, preds)
            prev, prev_preds = losses, preds
        if t % 3 == 0:
            s.update(sharpness=10.0 + t, threshold=20.0, eig_bound=0.5 + t / 10, eig_residual=1e-3)
            if t >= 6:
                s["sharpness_upper"] = 12.0 + t
            records["layer_curvature"] = {"params": {}, "modules": {k: v + t / 100 for k, v in MODULES.items()}}
        w.write_step(t, s, losses=losses, preds=preds, records=records, group_losses=[], pairs=None)
    w.set_meta(status="finished", finished=0.0)
    w.close()
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from osig_core.export.tensorboard import export_tensorboard
    base = tmp_path_factory.mktemp("tb")
    run = osig.open_run(_write(base / "r1"))
    export_tensorboard(run, base / "tb", k=3)
    ea = EventAccumulator(str(base / "tb" / "r1"), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    ea.Reload()
    return run, ea


def test_every_scalar_reads_back_equal_to_the_runs_metrics(exported):
    run, ea = exported
    m = run.metrics()
    expected_tags = set()
    for key in m:
        if key in ("step", "time"):
            continue
        ok = ~np.isnan(m[key])
        got = ea.Scalars(tag_for(key))
        expected_tags.add(tag_for(key))
        assert [e.step for e in got] == m["step"][ok].tolist(), key
        np.testing.assert_array_equal([e.value for e in got], m[key][ok].astype(np.float32), err_msg=key)
        assert [e.wall_time for e in got] == pytest.approx(m["time"][ok].tolist())
    assert {"loss/train_loss", "accuracy/train_acc", "sharpness/sharpness", "sharpness/threshold",
            "sharpness/eig_bound", "sharpness/sharpness_upper", "groups/frac_up", "groups/opposing_score"} <= expected_tags
    # the band: from the estimate to its recorded upper end, else to the estimate + eig_bound
    lam, bound, upper = m["sharpness"], m["eig_bound"], m["sharpness_upper"]
    ok = ~np.isnan(lam)
    lower = [e.value for e in ea.Scalars("sharpness/band_lower")]
    high = [(e.step, e.value) for e in ea.Scalars("sharpness/band_upper")]
    np.testing.assert_allclose(lower, lam[ok], rtol=1e-6)
    want = np.where(np.isnan(upper), lam + bound, upper)[ok]
    assert [s for s, _ in high] == m["step"][ok].tolist()
    np.testing.assert_allclose([v for _, v in high], want, rtol=1e-6)
    assert upper[6] == 18.0 and high[2] == (6, 18.0)  # the recorded upper end, not λ + bound
    # per-layer curvature shares, from the layer_curvature records
    layers = dict(run.records("layer_curvature"))
    for name in MODULES:
        got = ea.Scalars(f"layer_share/{name}")
        assert [(e.step, pytest.approx(e.value)) for e in got] == [(s, r["modules"][name]) for s, r in layers.items()]
        expected_tags.add(f"layer_share/{name}")
    assert set(ea.Tags()["scalars"]) == expected_tags | {"sharpness/band_lower", "sharpness/band_upper"}


def _decode(png: bytes) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_the_top_outliers_of_every_recorded_step_are_pictured(exported):
    run, ea = exported
    images, labels = run.images(), run.labels()
    stored = dict(run.records("extremes"))
    steps, losses = run.loss_steps(), run.losses()
    expect = {}
    for r in range(1, len(steps)):  # every recorded loss change: steps 2, 4, 6, 8, 9
        s = int(steps[r])
        if s in stored:
            expect[s] = [it["id"] for it in stored[s]["up"]][:3], [it["id"] for it in stored[s]["down"]][:3]
        else:
            up, down = top_k_extremes(clean_delta(losses[r - 1], losses[r]), 3)
            expect[s] = up.tolist(), down.tolist()
    assert sorted(expect) == [2, 4, 6, 8, 9]
    for side, j in (("rising", 0), ("falling", 1)):
        got = ea.Images(f"outliers/{side}")
        assert [e.step for e in got] == [s for s in sorted(expect) if expect[s][j]]
        for e in got:
            ids = expect[e.step][j]
            assert (e.height, e.width) == (H, len(ids) * (W + GAP) - GAP)
            pic = _decode(e.encoded_image_string)
            for n, i in enumerate(ids):  # each tile is that sample's picture, in rank order
                np.testing.assert_array_equal(pic[:, n * (W + GAP): n * (W + GAP) + W], images[i])
        table = {t.step: t.tensor_proto.string_val[0].decode() for t in ea.Tensors(f"outliers/{side}_samples")}
        for s, ids in ((s, expect[s][j]) for s in expect if expect[s][j]):
            rows = table[s].splitlines()[2:]
            assert [int(r.split("|")[2]) for r in rows] == ids
            assert all(r.split("|")[4].strip() == "abc"[labels[i]] for r, i in zip(rows, ids))


def test_a_layout_draws_sharpness_against_its_threshold(exported):
    from tensorboard.plugins.custom_scalar import layout_pb2
    _, ea = exported
    layout = layout_pb2.Layout.FromString(ea.Tensors("custom_scalars__config__")[0].tensor_proto.string_val[0])
    charts = {c.title: c for c in layout.category[0].chart}
    assert charts["sharpness vs threshold"].multiline.tag == [r"^sharpness/(sharpness|threshold)$"]
    series = charts["sharpness band"].margin.series[0]
    assert (series.value, series.lower, series.upper) == ("sharpness/sharpness", "sharpness/band_lower", "sharpness/band_upper")


def test_cli_export_goes_to_one_folder_per_run_and_replaces_its_own_file(cli, tmp_path):
    run = _write(tmp_path / "r2", kind="text")
    foreign = tmp_path / "tb" / "r2" / "events.out.tfevents.1.other"
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"")
    for _ in range(2):
        code, out, err = cli("export", run, "--tensorboard", tmp_path / "tb", "--tb-outliers", "2")
        assert code == 0, err
    ours = sorted(p.name for p in (tmp_path / "tb" / "r2").iterdir())
    assert len(ours) == 2 and foreign.name in ours  # one file of ours: the second export replaced the first
    assert next(n for n in ours if n != foreign.name) in "".join(out.split()) and "tensorboard --logdir" in out
    foreign.unlink()
    ea = EventAccumulator(str(tmp_path / "tb" / "r2"))
    ea.Reload()
    assert ea.Tags()["images"] == []  # text data: no pictures, the samples' texts in the tables
    assert "| text " in ea.Tensors("outliers/rising_samples")[0].tensor_proto.string_val[0].decode()
    # an npz in the same call, as before
    assert cli("export", run, tmp_path / "o.npz", "--tensorboard", tmp_path / "tb")[0] == 0 and (tmp_path / "o.npz").is_file()


@pytest.mark.parametrize("args, says", [
    ([], "say where to export"),
    (["--tensorboard", "{tmp}/tb", "--losses"], "--losses goes into OUT.npz"),
    (["--tensorboard", "{tmp}/tb", "--tb-outliers", "-1"], "must be 0 or more"),
    (["--tensorboard", "{tmp}/file"], "not a directory"),
])
def test_bad_export_requests_are_one_sentence(cli, tmp_path, args, says):
    run = _write(tmp_path / "r3")
    (tmp_path / "file").write_text("x")
    code, _, err = cli("export", run, *[a.format(tmp=tmp_path) for a in args])
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_without_tensorboard_the_export_says_what_to_install(cli, tmp_path, monkeypatch):
    run = _write(tmp_path / "r4")
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard...` raises ImportError
    code, _, err = cli("export", run, "--tensorboard", tmp_path / "tb")
    assert code == 2 and 'pip install "osig[tensorboard]"' in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "tb").exists()


def test_a_full_disk_leaves_no_event_file(cli, tmp_path, monkeypatch):
    import errno
    import osig_core.export.tensorboard as ex
    run = _write(tmp_path / "r5")

    def full(run, f, k):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(ex, "write_events", full)
    code, _, err = cli("export", run, "--tensorboard", tmp_path / "tb")
    assert code == 2 and "free space" in err and list((tmp_path / "tb" / "r5").iterdir()) == []


def test_the_export_loads_no_torch(tmp_path):
    run = _write(tmp_path / "r6")
    driver = ("import json, sys\nfrom osig_tui.cli import main\nsys.argv = ['osig'] + sys.argv[1:]\n"
              "try:\n    main(); code = 0\nexcept SystemExit as e:\n    code = e.code\n"
              "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules}))")
    p = subprocess.run([sys.executable, "-c", driver, "export", str(run), "--tensorboard", str(tmp_path / "tb")],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120,
                       env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(TESTS.parent)})
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "torch": False}, p.stderr


def test_the_event_checksum_is_tensorboards():
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as reference
    from osig_core.export.crc32c import masked_crc32c
    rng = np.random.default_rng(0)
    for n in (0, 1, 3, 4, 255, 256, 257, 1000, 4099, 40_000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert masked_crc32c(data) == reference(data), n
