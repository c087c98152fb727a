"""`cifar10`: the real CIFAR-10, read from its BINARY batches with numpy (nothing is ever unpickled).

CIFAR-10's "python version" is a set of pickles, and a pickle can run code when loaded; the official
"binary version" (cifar-10-binary.tar.gz) holds the same images as plain bytes: each record is one
label byte then 3072 pixel bytes (the red, green and blue 32×32 planes, row-major), 10,000 records
per file. Root: `cifar10:DIR`, else --data-dir, else ~/.cache/osig/cifar10; the folder
`cifar-10-batches-bin` may sit inside it or be it. Missing files trigger one download attempt.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from osig_core.data.base import Dataset, DataError
from osig_core.data.common import image_tensors, labels_tensor, subset_ids, to_unit_float

if TYPE_CHECKING:
    from osig_core.config.run_config import RunConfig

BATCH_FOLDER = "cifar-10-batches-bin"
PYTHON_FOLDER = "cifar-10-batches-py"  # recognised only to say why it is not read
TRAIN_BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_BATCH = "test_batch.bin"
META_FILE = "batches.meta.txt"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
TGZ_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
DEFAULT_ROOT = Path("~/.cache/osig/cifar10")
PIXELS = 3 * 32 * 32
RECORD = 1 + PIXELS
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def parse_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [M, 3, 32, 32] and int64 labels [M] from one binary batch's bytes, checked."""
    if not raw or len(raw) % RECORD:
        raise DataError(f"CIFAR file '{where}' is not a CIFAR-10 binary batch ({len(raw)} bytes is not a "
                        f"whole number of {RECORD}-byte records)")
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = rec[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"CIFAR file '{where}' has labels outside 0..9 (up to {labels.max()})")
    return rec[:, 1:].reshape(-1, 3, 32, 32), labels


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read CIFAR file '{path}' ({e.strerror or e})") from None
    return parse_batch(raw, str(path))


def _class_names(folder: Path) -> list[str]:
    """batches.meta.txt: one class name a line (the standard names when the file is absent)."""
    p = folder / META_FILE
    if not p.is_file():
        return list(CLASSES)
    try:
        names = [line.strip() for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read CIFAR file '{p}' ({e})") from None
    if len(names) != 10:
        raise DataError(f"CIFAR file '{p}' lists {len(names)} class names, expected 10")
    return names


def find_batches(root: Path) -> Path | None:
    """The folder holding all binary batch files: root/cifar-10-batches-bin or root itself."""
    for folder in (root / BATCH_FOLDER, root):
        if all((folder / f).is_file() for f in [*TRAIN_BATCHES, TEST_BATCH]):
            return folder
    return None


def missing_message(root: Path) -> str:
    """One sentence saying where the binary batches go (and why a python-format folder is not read)."""
    if (root / PYTHON_FOLDER).is_dir() or (root.name == PYTHON_FOLDER and root.is_dir()):
        return (f"'{root}' holds CIFAR-10's python version, which is pickles that osig never unpickles: get the "
                f"binary version ({URL}) and unpack it so that '{root / BATCH_FOLDER}' exists")
    return (f"CIFAR-10 not found and could not be downloaded: put the folder '{BATCH_FOLDER}' (from {URL}) "
            f"at '{root / BATCH_FOLDER}', or pass --data-dir DIR containing it")


def _download(root: Path) -> None:
    """Fetch and unpack the official binary archive into root (torchvision's checked downloader)."""
    from torchvision.datasets.utils import download_and_extract_archive

    root.mkdir(parents=True, exist_ok=True)
    download_and_extract_archive(URL, download_root=str(root), md5=TGZ_MD5)


def load_cifar10(root: Path, download: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(x_train uint8 [M,3,32,32], y_train, x_test, y_test, class names); DataError if unavailable."""
    root = root.expanduser()
    folder = find_batches(root)
    if folder is None and download:
        try:
            _download(root)
        except Exception:  # noqa: BLE001 - offline, proxy, disk: all end in the same instruction below
            pass
        folder = find_batches(root)
    if folder is None:
        raise DataError(missing_message(root))
    parts = [read_batch(folder / f) for f in TRAIN_BATCHES]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = read_batch(folder / TEST_BATCH)
    return x_train, y_train, x_test, y_test, _class_names(folder)


def build_from_root(cfg: RunConfig, root: Path, download: bool = True) -> Dataset:
    x_all, y_all, xt_all, yt_all, classes = load_cifar10(root, download=download)
    ids = subset_ids(y_all, cfg.n, cfg.seed)
    tids = subset_ids(yt_all, cfg.n_test, cfg.seed + 1)
    x, x_test, meta = image_tensors(to_unit_float(x_all[ids]), to_unit_float(xt_all[tids]))
    meta["source"] = str(root.expanduser())
    return Dataset(
        name="cifar10", kind="image", x=x, y=labels_tensor(y_all[ids]), classes=classes,
        x_test=x_test, y_test=labels_tensor(yt_all[tids]), meta=meta, loss="ce",
    )


def build(cfg: RunConfig, arg: str | None) -> Dataset:
    """CIFAR-10 (class-balanced --n subset, normalised with the subset's channel statistics)."""
    root = Path(arg) if arg else Path(cfg.data_dir) if cfg.data_dir else DEFAULT_ROOT
    return build_from_root(cfg, root)
