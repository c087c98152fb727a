"""`cifar10`: the real CIFAR-10, read from its python batches with a restricted unpickler.

CIFAR's python format is pickle by definition. Rather than trusting it, the batches are read by an
Unpickler that can only rebuild numpy arrays (and plain dicts/lists/bytes/ints), so a tampered file
cannot run code. Root: `cifar10:DIR`, else --data-dir, else ~/.cache/osig/cifar10; the folder
`cifar-10-batches-py` may sit inside it or be it. Missing files trigger one download attempt.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from osig_core.config import RunConfig
from osig_core.data.base import Dataset, DataError
from osig_core.data.common import image_tensors, labels_tensor, subset_ids, to_unit_float
from osig_core.registry import register_dataset

BATCH_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TGZ_MD5 = "c58f30108f718f92721af3b95e74349a"
DEFAULT_ROOT = Path("~/.cache/osig/cifar10")

# The only globals a CIFAR batch may name: numpy array/dtype reconstruction (old and new module paths).
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how Python 3 writes bytes in protocol 2 (str -> bytes, nothing else)
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except numpy array reconstruction."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a CIFAR batch")


def read_batch(path: Path) -> dict[str, object]:
    """One CIFAR python batch as a dict with str keys (the files are python-2 pickles: bytes keys)."""
    try:
        with open(path, "rb") as fh:
            obj = _ArrayOnlyUnpickler(io.BytesIO(fh.read()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as e:
        raise DataError(f"CIFAR file '{path}' is not a valid CIFAR-10 python batch ({e})") from None
    if not isinstance(obj, dict):
        raise DataError(f"CIFAR file '{path}' is not a valid CIFAR-10 python batch (no dict inside)")
    return {(k.decode("latin1") if isinstance(k, bytes) else str(k)): v for k, v in obj.items()}


def _images_and_labels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [M, 3, 32, 32] and int64 labels [M] from one batch file, shapes checked."""
    batch = read_batch(path)
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or labels is None:
        raise DataError(f"CIFAR file '{path}' lacks its 'data' array or 'labels' list")
    labels = np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"CIFAR file '{path}' has data of shape {data.shape} ({data.dtype}), expected [M, 3072] uint8")
    if labels.ndim != 1 or len(labels) != len(data) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"CIFAR file '{path}' has {labels.size} labels for {len(data)} images")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"CIFAR file '{path}' has labels outside 0..9")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _class_names(folder: Path) -> list[str]:
    meta = read_batch(folder / META_FILE)
    names = meta.get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise DataError(f"CIFAR file '{folder / META_FILE}' does not list 10 label_names")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]


def find_batches(root: Path) -> Path | None:
    """The folder holding all CIFAR batch files: root/cifar-10-batches-py or root itself."""
    for folder in (root / BATCH_FOLDER, root):
        if all((folder / f).is_file() for f in [*TRAIN_BATCHES, TEST_BATCH, META_FILE]):
            return folder
    return None


def _download(root: Path) -> None:
    """Fetch and unpack the official archive into root (torchvision's checked downloader)."""
    from torchvision.datasets.utils import download_and_extract_archive

    root.mkdir(parents=True, exist_ok=True)
    download_and_extract_archive(URL, download_root=str(root), md5=TGZ_MD5)


def load_cifar10(root: Path, download: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(x_train uint8 [50000,3,32,32], y_train, x_test, y_test, class names); DataError if unavailable."""
    root = root.expanduser()
    folder = find_batches(root)
    if folder is None and download:
        try:
            _download(root)
        except Exception:  # noqa: BLE001 - offline, proxy, disk: all end in the same instruction below
            pass
        folder = find_batches(root)
    if folder is None:
        raise DataError(
            f"CIFAR-10 not found and could not be downloaded: put the folder '{BATCH_FOLDER}' "
            f"(from {URL}) at '{root / BATCH_FOLDER}', or pass --data-dir DIR containing it"
        )
    parts = [_images_and_labels(folder / f) for f in TRAIN_BATCHES]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = _images_and_labels(folder / TEST_BATCH)
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


@register_dataset("cifar10")
def build(cfg: RunConfig, arg: str | None) -> Dataset:
    """CIFAR-10 (class-balanced --n subset, normalised with the subset's channel statistics)."""
    root = Path(arg) if arg else Path(cfg.data_dir) if cfg.data_dir else DEFAULT_ROOT
    return build_from_root(cfg, root)
