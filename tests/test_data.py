"""The dataset registry: what every builder promises (shapes, ids, determinism, balance, clear errors)."""
from __future__ import annotations

import gzip
import math
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from osig_core.config.run_config import RunConfig
from osig_core.data import cifar10, fashion_mnist, synthetic
from osig_core.data.base import Dataset, DataError
from osig_core.components.registry import DATASETS, dataset_arg, dataset_base_name

DEBIAN_FMNIST = Path("/usr/share/datasets/fashion-mnist")


def build(spec: str, **cfg) -> Dataset:
    cfg.setdefault("n", 200)
    cfg.setdefault("n_test", 50)
    return DATASETS[dataset_base_name(spec)](RunConfig(**cfg), dataset_arg(spec))


def one_sentence(err: Exception) -> bool:
    msg = str(err)
    return bool(msg) and "\n" not in msg and "Traceback" not in msg and len(msg) < 400


# ----------------------------------------------------------------------------- fixtures: tiny files

def write_cifar_dir(root: Path, per_batch: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A tiny CIFAR-10 binary-format folder (label byte + 3072 pixel bytes a record, like the real
    cifar-10-batches-bin); returns train x/y."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    xs, ys = [], []
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = (np.arange(per_batch) % 10).astype(np.uint8)
        (folder / name).write_bytes(np.concatenate([labels[:, None], data], axis=1).tobytes())
        if name != "test_batch.bin":
            xs.append(data)
            ys.append(labels.astype(np.int64))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta.txt").write_text("\n".join(names) + "\n\n")
    return np.concatenate(xs).reshape(-1, 3, 32, 32), np.concatenate(ys)


def idx_bytes(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(np.uint8).tobytes()


def write_fmnist_dir(folder: Path, n_train: int = 40, n_test: int = 20, gz: bool = True) -> np.ndarray:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    for stem, arr in arrays.items():
        raw = idx_bytes(arr)
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return arrays["train-images-idx3-ubyte"].astype(np.uint8)


# ----------------------------------------------------------------------------- every builder

def test_registry_has_every_dataset():
    assert {"synthetic", "cifar10", "fashion-mnist", "npz", "chebyshev", "toy-linear", "text"} <= set(DATASETS)


@pytest.mark.parametrize("spec,kind,xshape,xdtype,ydtype,loss", [
    ("synthetic", "image", (3, 32, 32), torch.float32, torch.long, "ce"),
    ("chebyshev", "regression", (1,), torch.float32, torch.float32, "mse"),
    ("toy-linear", "vector", (60,), torch.float32, torch.float32, "mse"),
    ("text", "text", (32,), torch.long, torch.long, "ce"),
])
def test_generated_datasets_shapes_and_dtypes(spec, kind, xshape, xdtype, ydtype, loss):
    d = build(spec, n=120, n_test=30)
    assert d.kind == kind and d.loss == loss
    assert d.x.shape == (120, *xshape) and d.x.dtype == xdtype
    assert d.y.shape == (120,) and d.y.dtype == ydtype
    assert d.x_test.shape == (30, *xshape) and d.y_test.shape == (30,)
    assert d.n == 120
    for name, mask in d.features.items():
        assert mask.dtype == bool and mask.shape == (120,), name
    if d.is_classification:
        assert 0 <= int(d.y.min()) and int(d.y.max()) < len(d.classes)


@pytest.mark.parametrize("spec", ["synthetic", "toy-linear", "text"])
def test_same_seed_same_data_other_seed_other_data(spec):
    a, b, c = build(spec, seed=3), build(spec, seed=3), build(spec, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and torch.equal(a.x_test, b.x_test)
    assert all(np.array_equal(a.features[k], b.features[k]) for k in a.features)
    assert not torch.equal(a.x, c.x)


def test_test_split_differs_from_train():
    d = build("synthetic", n=50, n_test=50)
    assert not torch.equal(d.x, d.x_test)


# ----------------------------------------------------------------------------- synthetic

def test_synthetic_is_class_balanced_with_cifar_names():
    d = build("synthetic", n=1003)
    counts = np.bincount(d.y.numpy(), minlength=10)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 1003
    assert d.classes == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def test_synthetic_planted_feature_rates_follow_the_recipe():
    d = build("synthetic", n=2000)
    y = d.y.numpy()
    assert set(d.features) == {"sky", "grass", "wheels"}
    assert d.meta["features_by_class"] == synthetic.FEATURE_RATES
    for feature, rates in synthetic.FEATURE_RATES.items():
        has = d.features[feature]
        for c, name in enumerate(d.classes):
            rate = has[y == c].mean()
            assert rate == pytest.approx(rates.get(name, 0.0), abs=0.01), (feature, name)


def test_synthetic_features_are_visible_in_the_pixels():
    d = build("synthetic", n=1000)
    x = d.x.numpy()
    sky, grass, wheels = d.features["sky"], d.features["grass"], d.features["wheels"]
    blue_top = x[:, 2, :21, :].mean(axis=(1, 2))
    green_bottom = x[:, 1, 22:, :].mean(axis=(1, 2))
    wheel_spot = x[:, :, 23:28, 7:12].mean(axis=(1, 2, 3))
    plain = ~(sky | grass | wheels)
    assert blue_top[sky].mean() - blue_top[plain].mean() == pytest.approx(1.5, abs=0.1)
    assert green_bottom[grass].mean() - green_bottom[plain].mean() == pytest.approx(1.5, abs=0.1)
    assert wheel_spot[wheels].mean() - wheel_spot[plain].mean() == pytest.approx(-1.5, abs=0.1)


def test_synthetic_display_images_are_uint8_pictures():
    d = build("synthetic", n=40)
    imgs = d.display_images(np.arange(5))
    assert imgs.shape == (5, 32, 32, 3) and imgs.dtype == np.uint8
    # picture = mean + std * x, so an image with sky is bluer on top than at the bottom
    i = int(np.flatnonzero(d.features["sky"])[0])
    pic = d.display_images(np.array([i]))[0].astype(float)
    assert pic[:21, :, 2].mean() > pic[22:, :, 2].mean() + 50


def test_synthetic_refuses_an_argument():
    with pytest.raises(DataError) as e:
        build("synthetic:foo")
    assert one_sentence(e.value)


# ----------------------------------------------------------------------------- cifar10

def test_cifar10_reads_binary_batches(tmp_path):
    x_train, y_train = write_cifar_dir(tmp_path, per_batch=20)
    d = build("cifar10", n=None, n_test=None, data_dir=str(tmp_path))
    assert d.x.shape == (100, 3, 32, 32) and d.x_test.shape == (20, 3, 32, 32)
    assert d.classes[0] == "airplane" and d.classes[9] == "truck"
    assert np.array_equal(d.y.numpy(), y_train)
    # normalised per channel ...
    assert np.allclose(d.x.mean(dim=(0, 2, 3)).numpy(), 0, atol=1e-5)
    assert np.allclose(d.x.std(dim=(0, 2, 3), unbiased=False).numpy(), 1, atol=1e-4)
    # ... and display_images gives back the stored pixels exactly
    assert np.array_equal(d.display_images(), x_train.transpose(0, 2, 3, 1))


def test_cifar10_subset_is_balanced_and_deterministic(tmp_path):
    write_cifar_dir(tmp_path, per_batch=20)
    a = build(f"cifar10:{tmp_path}", n=30, n_test=10, seed=1)
    b = build(f"cifar10:{tmp_path}", n=30, n_test=10, seed=1)
    assert np.bincount(a.y.numpy()).tolist() == [3] * 10
    assert torch.equal(a.x, b.x)


def test_cifar10_never_unpickles_the_python_version(tmp_path, capsys):
    """A folder of python-format batches (pickles) is refused with one sentence; its code never runs."""

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (folder / name).write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(DataError) as e:
        cifar10.build_from_root(RunConfig(), tmp_path, download=False)
    assert one_sentence(e.value) and "never unpickles" in str(e.value) and "cifar-10-batches-bin" in str(e.value)
    assert "pwned" not in capsys.readouterr().out


def test_cifar10_damaged_batch_is_one_sentence(tmp_path):
    write_cifar_dir(tmp_path, per_batch=10)
    path = tmp_path / "cifar-10-batches-bin" / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-5])  # truncated mid-record
    with pytest.raises(DataError) as e:
        build(f"cifar10:{tmp_path}")
    assert one_sentence(e.value) and "data_batch_3.bin" in str(e.value)
    raw = bytearray((tmp_path / "cifar-10-batches-bin" / "data_batch_1.bin").read_bytes())
    raw[0] = 12  # a label no class has
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="labels outside 0..9"):
        build(f"cifar10:{tmp_path}")


def test_cifar10_missing_says_where_to_put_it(tmp_path):
    with pytest.raises(DataError) as e:
        cifar10.build_from_root(RunConfig(), tmp_path / "nowhere", download=False)
    assert one_sentence(e.value) and "cifar-10-batches-bin" in str(e.value) and str(tmp_path) in str(e.value)


# ----------------------------------------------------------------------------- fashion-mnist

@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_reads_idx_files(tmp_path, gz):
    images = write_fmnist_dir(tmp_path, gz=gz)
    d = build("fashion-mnist", n=None, n_test=None, data_dir=str(tmp_path))
    assert d.x.shape == (40, 1, 28, 28) and d.x_test.shape == (20, 1, 28, 28)
    assert d.classes[0] == "T-shirt/top" and d.classes[9] == "Ankle boot"
    pics = d.display_images()
    assert pics.shape == (40, 28, 28, 3)
    assert np.array_equal(pics[..., 0], images) and np.array_equal(pics[..., 2], images)


def test_fashion_mnist_torchvision_layout_and_subset(tmp_path):
    write_fmnist_dir(tmp_path / "FashionMNIST" / "raw")
    d = build(f"fashion-mnist:{tmp_path}", n=20, n_test=10)
    assert np.bincount(d.y.numpy()).tolist() == [2] * 10


def test_fashion_mnist_bad_and_missing_files(tmp_path):
    write_fmnist_dir(tmp_path, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x01\x02\x03\x04garbage")
    with pytest.raises(DataError) as e:
        build("fashion-mnist", data_dir=str(tmp_path))
    assert one_sentence(e.value) and "magic" in str(e.value)
    with pytest.raises(DataError) as e:
        fashion_mnist.build_from(RunConfig(), [tmp_path / "empty"], download_root=None)
    assert one_sentence(e.value) and "train-images-idx3-ubyte.gz" in str(e.value)


@pytest.mark.skipif(not DEBIAN_FMNIST.is_dir(), reason="Debian package dataset-fashion-mnist is not installed")
def test_fashion_mnist_debian_files():
    d = build("fashion-mnist", n=100, n_test=20)
    assert d.x.shape == (100, 1, 28, 28) and np.bincount(d.y.numpy()).tolist() == [10] * 10
    assert d.x_test.shape == (20, 1, 28, 28)
    assert np.allclose(d.x.mean().item(), 0, atol=1e-5)


# ----------------------------------------------------------------------------- npz

def save_npz(path: Path, **arrays) -> str:
    np.savez(path, **arrays)
    return f"npz:{path}"


def test_npz_layouts_agree_and_uint8_is_scaled(tmp_path):
    rng = np.random.default_rng(0)
    x_nhwc = rng.integers(0, 256, (30, 8, 8, 3), dtype=np.uint8)
    y = np.arange(30) % 3
    a = build(save_npz(tmp_path / "a.npz", x=x_nhwc, y=y), n=None)
    b = build(save_npz(tmp_path / "b.npz", x=x_nhwc.transpose(0, 3, 1, 2), y=y), n=None)
    assert a.kind == "image" and a.x.shape == (30, 3, 8, 8)
    assert torch.equal(a.x, b.x)
    assert np.array_equal(a.display_images(), x_nhwc)
    assert a.classes == ["0", "1", "2"] and a.x_test is None


def test_npz_vectors_classes_and_test_split(tmp_path):
    rng = np.random.default_rng(0)
    spec = save_npz(tmp_path / "v.npz", x=rng.standard_normal((40, 5)), y=np.arange(40) % 4,
                    classes=np.array(["a", "b", "c", "d"]), x_test=rng.standard_normal((8, 5)), y_test=np.arange(8) % 4)
    d = build(spec, n=20, n_test=None)
    assert d.kind == "vector" and d.x.shape == (20, 5) and d.x.dtype == torch.float32
    assert d.classes == ["a", "b", "c", "d"] and np.bincount(d.y.numpy()).tolist() == [5] * 4
    assert d.x_test.shape == (8, 5) and d.display_images() is None


def test_npz_grayscale_images(tmp_path):
    d = build(save_npz(tmp_path / "g.npz", x=np.random.default_rng(0).random((10, 6, 6)), y=np.zeros(10, int)))
    assert d.x.shape == (10, 1, 6, 6) and d.display_images().shape == (10, 6, 6, 3)


GOOD_X = np.zeros((6, 4, 4, 3), np.uint8)
GOOD_Y = np.array([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize("arrays,needle", [
    (dict(y=GOOD_Y), "no 'x'"),
    (dict(x=GOOD_X), "no 'y'"),
    (dict(x=GOOD_X, y=GOOD_Y[:5]), "6 samples but 'y' has 5"),
    (dict(x=GOOD_X, y=np.array([0, 1, -1, 0, 1, 2])), "negative"),
    (dict(x=GOOD_X, y=GOOD_Y, classes=np.array(["a", "b"])), "only 2 classes"),
    (dict(x=GOOD_X, y=GOOD_Y.astype(float) + 0.5), "integer"),
    (dict(x=GOOD_X, y=GOOD_Y[:, None]), "1-D"),
    (dict(x=np.zeros((6, 4, 4, 5)), y=GOOD_Y), "1 or 3 channels"),
    (dict(x=np.zeros(6), y=GOOD_Y), "[N,D]"),
    (dict(x=np.zeros((6, 1, 2, 3, 4)), y=GOOD_Y), "[N,D]"),
    (dict(x=np.zeros((0, 4)), y=np.zeros(0, int)), "no samples"),
    (dict(x=np.full((6, 2), np.nan), y=GOOD_Y), "NaN"),
    (dict(x=GOOD_X, y=GOOD_Y, x_test=GOOD_X), "both 'x_test' and 'y_test'"),
    (dict(x=GOOD_X, y=GOOD_Y, x_test=np.zeros((2, 5, 5, 3), np.uint8), y_test=np.zeros(2, int)), "'x_test' samples"),
    (dict(x=GOOD_X, y=GOOD_Y, x_test=GOOD_X[:2], y_test=np.array([0, 7])), "up to 7"),
    (dict(x=GOOD_X, y=GOOD_Y * 10**9), "class ids"),
    (dict(x=GOOD_X, y=GOOD_Y, classes=np.array([1, 2, 3])), "strings"),
])
def test_npz_bad_inputs_are_one_sentence(tmp_path, arrays, needle):
    if needle == "up to 7":
        arrays = dict(arrays, classes=np.array(["a", "b", "c"]))
    with pytest.raises(DataError) as e:
        build(save_npz(tmp_path / "bad.npz", **arrays))
    assert one_sentence(e.value) and needle in str(e.value), str(e.value)


def test_npz_bad_files(tmp_path):
    cases = {"npz:": "needs a file", f"npz:{tmp_path / 'missing.npz'}": "does not exist"}
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    cases[f"npz:{tmp_path / 'junk.npz'}"] = "not a readable"
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object), y=np.zeros(1, int))
    cases[f"npz:{tmp_path / 'obj.npz'}"] = "Python objects"
    for spec, needle in cases.items():
        with pytest.raises(DataError) as e:
            build(spec)
        assert one_sentence(e.value) and needle in str(e.value), (spec, str(e.value))


# ----------------------------------------------------------------------------- chebyshev

def test_chebyshev_matches_numpy_reference():
    d = build("chebyshev", n=41, n_test=10)
    x = d.x[:, 0].double().numpy()
    assert np.allclose(x, np.linspace(-1, 1, 41)) and x[0] == -1 and x[-1] == 1
    ref = np.polynomial.chebyshev.chebval(x, [0, 0, 0, 0, 0, 1])
    assert np.allclose(d.y.numpy(), ref, atol=1e-6)
    assert np.allclose(d.y.numpy(), np.cos(5 * np.arccos(x)), atol=1e-5)
    assert d.classes == [] and d.num_outputs == 1 and not d.is_classification
    assert (d.x_test.abs() < 1).all()
    d3 = build("chebyshev:3", n=11)
    assert np.allclose(d3.y.numpy(), np.polynomial.chebyshev.chebval(d3.x[:, 0].double().numpy(), [0, 0, 0, 1]), atol=1e-6)
    for bad in ("chebyshev:x", "chebyshev:-1"):
        with pytest.raises(DataError) as e:
            build(bad)
        assert one_sentence(e.value)


# ----------------------------------------------------------------------------- toy-linear

def test_toy_linear_follows_the_papers_model():
    d = build("toy-linear:d1=10,d2=20,alpha=50,p=0.1", n=400)
    m = d.meta
    assert (m["d1"], m["d2"], m["alpha"], m["p"]) == (10, 20, 50.0, 0.1)
    x = d.x.double().numpy()
    base, x_o = x[:, :10], x[:, 10:]
    beta = np.array(m["beta"])
    assert np.linalg.norm(beta) == pytest.approx(m["beta_norm"])
    expected = base @ beta + np.abs(x_o).sum(axis=1) / math.sqrt(20)
    assert np.allclose(d.y.double().numpy(), expected, rtol=1e-5, atol=1e-4)
    # x_o is +-sqrt(alpha/(p d2)) * 1 on a fraction p, zero elsewhere, with the features marking it
    magnitude = math.sqrt(50 / (0.1 * 20))
    opp, plus, minus = d.features["opposing"], d.features["opposing+"], d.features["opposing-"]
    assert opp.sum() == 40 and plus.sum() == minus.sum() == 20 and np.array_equal(opp, plus | minus)
    assert np.allclose(x_o[plus], magnitude) and np.allclose(x_o[minus], -magnitude)
    assert np.all(x_o[~opp] == 0)


@pytest.mark.parametrize("arg", ["d1", "d1=x", "gamma=3", "d1=30,d2=20", "p=0", "p=1.5", "alpha=-1", "d1=2.5", "alpha=nan"])
def test_toy_linear_rejects_garbage_settings(arg):
    with pytest.raises(DataError) as e:
        build(f"toy-linear:{arg}")
    assert one_sentence(e.value)


# ----------------------------------------------------------------------------- text

def test_builtin_text_has_both_colon_continuations():
    d = build("text", n=2000, n_test=200)
    newline, space = d.features["colon_newline"], d.features["colon_space"]
    assert newline.sum() >= 40 and space.sum() >= 40
    assert (newline.sum() + space.sum()) / d.n >= 0.05
    vocab = d.classes
    for i in np.flatnonzero(newline)[:5]:
        assert d.describe(int(i)).endswith(":[\n]")
    for i in np.flatnonzero(space)[:5]:
        assert d.describe(int(i)).endswith(":[ ]")
    # every context ending in ':' is one of the two
    ends = (d.x[:, -1] == vocab.index(":")).numpy()
    assert np.array_equal(ends, newline | space)


def test_text_file_windows_and_held_out_tail(tmp_path):
    text = "".join(f"line {i}: the value is {i * 7 % 13}\n" for i in range(100))
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    d = build(f"text:{path}", n=None, n_test=None)
    split = d.meta["test_from_char"]
    assert d.n == split - 32 and d.x_test.shape == (len(text) - split - 32, 32)
    assert d.classes == sorted(set(text))
    # sample i is the window at i and its next character
    assert d.describe(7) == text[7:39] + "[" + text[39] + "]"
    first_test = "".join(d.classes[t] for t in d.x_test[0].tolist())
    assert first_test == text[split:split + 32]
    sub = build(f"text:{path}", n=50, n_test=10, seed=2)
    assert sub.x.shape == (50, 32) and torch.equal(sub.x, build(f"text:{path}", n=50, n_test=10, seed=2).x)


def test_text_file_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("   \n")
    (tmp_path / "short.txt").write_text("hello world")
    (tmp_path / "latin.txt").write_bytes(("caf\xe9 " * 200).encode("latin-1"))
    cases = {"missing.txt": "does not exist", "empty.txt": "empty", "short.txt": "at least", "latin.txt": "UTF-8"}
    for name, needle in cases.items():
        with pytest.raises(DataError) as e:
            build(f"text:{tmp_path / name}")
        assert one_sentence(e.value) and needle in str(e.value)
