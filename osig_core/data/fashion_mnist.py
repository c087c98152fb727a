"""`fashion-mnist`: Fashion-MNIST from its raw idx files, parsed with numpy (no pickle, no torch.load).

Looked up in: `fashion-mnist:DIR`, --data-dir, /usr/share/datasets/fashion-mnist (Debian package
dataset-fashion-mnist), ~/.cache/osig/fashion-mnist; each also as DIR/FashionMNIST/raw (torchvision's
layout). Files may be gzipped or not. If none has them, torchvision downloads them once into the cache.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from osig_core.data.base import Dataset, DataError
from osig_core.data.common import image_tensors, labels_tensor, subset_ids, to_unit_float

if TYPE_CHECKING:
    from osig_core.config.run_config import RunConfig

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CACHE_DIR = Path("~/.cache/osig/fashion-mnist")
_IDX_UBYTE = 0x08


def parse_idx(raw: bytes, where: str) -> np.ndarray:
    """Decode an idx file (big-endian header, unsigned-byte payload) into a uint8 array."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"'{where}' is not an idx file (bad magic number)")
    if raw[2] != _IDX_UBYTE:
        raise DataError(f"'{where}' holds idx type 0x{raw[2]:02x}, expected unsigned bytes (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"'{where}' has a truncated idx header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    size = int(np.prod(dims))
    if len(raw) - header != size:
        raise DataError(f"'{where}' should hold {size} bytes for shape {dims} but holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_file(path: Path) -> np.ndarray:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"cannot read '{path}' ({e})") from None
    return parse_idx(raw, str(path))


def _file_in(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def find_folder(candidates: list[Path]) -> Path | None:
    """The first folder (or its FashionMNIST/raw) that holds all four idx files."""
    for base in candidates:
        for folder in (base, base / "FashionMNIST" / "raw"):
            if all(_file_in(folder, stem) for stem in FILES.values()):
                return folder
    return None


def read_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train uint8 [N,1,28,28], y_train, x_test, y_test) from a folder of idx files, checked."""
    arrays = {key: _read_file(_file_in(folder, stem)) for key, stem in FILES.items()}
    out = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"Fashion-MNIST {split} files in '{folder}' disagree: images {images.shape}, labels {labels.shape}")
        if len(labels) and labels.max() >= len(CLASSES):
            raise DataError(f"Fashion-MNIST {split} labels in '{folder}' go up to {labels.max()}, expected 0..9")
        out += [images[:, None, :, :], labels.astype(np.int64)]
    return out[0], out[1], out[2], out[3]


def _download(root: Path) -> None:
    from torchvision.datasets import FashionMNIST

    FashionMNIST(str(root), train=True, download=True)


def load_fashion_mnist(candidates: list[Path], download_root: Path | None) -> tuple[np.ndarray, ...]:
    """Arrays from the first candidate folder with the files; else download into download_root."""
    folder = find_folder(candidates)
    if folder is None and download_root is not None:
        try:
            _download(download_root)
        except Exception:  # noqa: BLE001 - offline, proxy, disk: all end in the same instruction below
            pass
        folder = find_folder([download_root])
    if folder is None:
        where = candidates[0] if candidates else DEBIAN_DIR
        raise DataError(
            f"Fashion-MNIST not found and could not be downloaded: put {', '.join(f + '.gz' for f in FILES.values())} "
            f"in '{where}' (or install the Debian package dataset-fashion-mnist), or pass --data-dir DIR"
        )
    return read_folder(folder)


def build_from(cfg: RunConfig, candidates: list[Path], download_root: Path | None) -> Dataset:
    x_all, y_all, xt_all, yt_all = load_fashion_mnist(candidates, download_root)
    ids = subset_ids(y_all, cfg.n, cfg.seed)
    tids = subset_ids(yt_all, cfg.n_test, cfg.seed + 1)
    x, x_test, meta = image_tensors(to_unit_float(x_all[ids]), to_unit_float(xt_all[tids]))
    return Dataset(
        name="fashion-mnist", kind="image", x=x, y=labels_tensor(y_all[ids]), classes=list(CLASSES),
        x_test=x_test, y_test=labels_tensor(yt_all[tids]), meta=meta, loss="ce",
    )


def build(cfg: RunConfig, arg: str | None) -> Dataset:
    """Fashion-MNIST 1x28x28 (class-balanced --n subset, normalised with the subset's statistics)."""
    explicit = [Path(p).expanduser() for p in (arg, cfg.data_dir) if p]
    candidates = explicit + [DEBIAN_DIR, CACHE_DIR.expanduser()]
    download_root = explicit[0] if explicit else CACHE_DIR.expanduser()
    return build_from(cfg, candidates, download_root)
