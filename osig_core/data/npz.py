"""`npz:PATH`: bring your own data as a NumPy .npz archive (read with allow_pickle=False).

Keys: `x` images [N,H,W,C] or [N,C,H,W] (C in {1,3}; uint8 is divided by 255) or [N,H,W]
(grayscale), or vectors [N,D]; `y` integer class ids [N] in [0, num_classes); optional `classes`
(strings, one per class id); optional `x_test` with `y_test`. Every bad input is one DataError sentence.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from osig_core.data.base import Dataset, DataError
from osig_core.data.common import image_tensors, labels_tensor, subset_ids, to_unit_float

if TYPE_CHECKING:
    from osig_core.config.run_config import RunConfig

MAX_CLASSES = 100_000  # a guard against labels that are not class ids (e.g. raw targets)


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(f"npz file '{path}' does not exist")
    if not zipfile.is_zipfile(path):
        raise DataError(f"npz file '{path}' is not a readable .npz archive (save it with numpy.savez)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise DataError(f"npz file '{path}' holds Python objects; save plain numeric/string arrays instead") from None
        raise DataError(f"npz file '{path}' cannot be read ({e})") from None
    except Exception as e:  # noqa: BLE001 - zipfile/OSError/EOF: a broken archive, said in one sentence
        raise DataError(f"npz file '{path}' is not a readable .npz archive ({type(e).__name__}: {str(e)[:200]})") from None
    for key, value in arrays.items():  # a member not saved by numpy comes back as raw bytes
        if not isinstance(value, np.ndarray):
            raise DataError(f"npz file '{path}': member '{key}' is not a NumPy array (.npy); save the file with numpy.savez")
    return arrays


def _to_channels_first(x: np.ndarray, key: str, path: Path) -> np.ndarray:
    """[N,H,W,C] / [N,C,H,W] / [N,H,W] -> [N,C,H,W], detecting where the 1 or 3 channels are."""
    if x.ndim == 3:
        return x[:, None, :, :]
    first, last = x.shape[1] in (1, 3), x.shape[3] in (1, 3)
    if first:
        return x
    if last:
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    raise DataError(f"npz '{path}': '{key}' has shape {x.shape}; images need 1 or 3 channels as [N,H,W,C] or [N,C,H,W]")


def _check_x(x: np.ndarray, key: str, path: Path) -> None:
    if x.ndim not in (2, 3, 4):
        raise DataError(f"npz '{path}': '{key}' must be [N,D] vectors or [N,H,W(,C)] images, got shape {x.shape}")
    if x.shape[0] == 0:
        raise DataError(f"npz '{path}': '{key}' holds no samples")
    if 0 in x.shape[1:]:
        raise DataError(f"npz '{path}': '{key}' has shape {x.shape}; each sample must hold at least one value")
    if x.dtype != np.uint8 and not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise DataError(f"npz '{path}': '{key}' must be numeric (uint8 or float), got {x.dtype}")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise DataError(f"npz '{path}': '{key}' contains NaN or infinite values")


def _check_y(y: np.ndarray, n: int, key: str, xkey: str, path: Path) -> np.ndarray:
    if y.ndim != 1:
        raise DataError(f"npz '{path}': '{key}' must be a 1-D array of class ids, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"npz '{path}': '{key}' must hold integer class ids, got {y.dtype}")
    if len(y) != n:
        raise DataError(f"npz '{path}': '{xkey}' has {n} samples but '{key}' has {len(y)} labels")
    if len(y) and y.min() < 0:
        raise DataError(f"npz '{path}': '{key}' has a negative label ({y.min()}); labels must be in [0, num_classes)")
    if len(y) and y.max() >= MAX_CLASSES:  # compared before the int64 cast, which wraps uint64 >= 2**63 to negative
        raise DataError(f"npz '{path}': '{key}' has label {y.max()}; class ids must be 0..num_classes-1 (at most {MAX_CLASSES})")
    return y.astype(np.int64)


def _class_names(arrays: dict[str, np.ndarray], max_label: int, path: Path) -> list[str]:
    if "classes" not in arrays:
        if max_label + 1 > MAX_CLASSES:
            raise DataError(f"npz '{path}': labels go up to {max_label}; class ids must be 0..num_classes-1 (at most {MAX_CLASSES})")
        return [str(i) for i in range(max_label + 1)]
    names = arrays["classes"]
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise DataError(f"npz '{path}': 'classes' must be a 1-D array of strings, got {names.dtype} {names.shape}")
    names = [n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in names.tolist()]
    if len(names) < max_label + 1:
        raise DataError(f"npz '{path}': labels go up to {max_label} but 'classes' names only {len(names)} classes")
    return names


def read_npz(path: Path) -> dict:
    """Checked arrays: x [N,...] (channels-first for images), y, x_test/y_test or None, classes, kind."""
    arrays = _load_arrays(path)
    for key in ("x", "y"):
        if key not in arrays:
            raise DataError(f"npz '{path}' has no '{key}' array (found: {', '.join(sorted(arrays)) or 'nothing'})")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"npz '{path}' must have both 'x_test' and 'y_test', or neither")
    x = arrays["x"]
    _check_x(x, "x", path)
    y = _check_y(arrays["y"], len(x), "y", "x", path)
    x_test = y_test = None
    if "x_test" in arrays:
        x_test = arrays["x_test"]
        _check_x(x_test, "x_test", path)
        if x_test.shape[1:] != x.shape[1:]:
            raise DataError(f"npz '{path}': 'x_test' samples have shape {x_test.shape[1:]} but 'x' samples {x.shape[1:]}")
        y_test = _check_y(arrays["y_test"], len(x_test), "y_test", "x_test", path)
    max_label = int(max(y.max(), y_test.max() if y_test is not None and len(y_test) else 0))
    classes = _class_names(arrays, max_label, path)
    kind = "vector" if x.ndim == 2 else "image"
    if kind == "image":
        x = _to_channels_first(x, "x", path)
        if x_test is not None:
            x_test = _to_channels_first(x_test, "x_test", path)
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test, "classes": classes, "kind": kind}


def build(cfg: RunConfig, arg: str | None) -> Dataset:
    """Your own arrays; images are normalised per channel, vectors are used as given (float32)."""
    if not arg:
        raise DataError("dataset 'npz' needs a file: use --data npz:PATH")
    path = Path(arg).expanduser()
    d = read_npz(path)
    ids = subset_ids(d["y"], cfg.n, cfg.seed)
    x = d["x"][ids]
    x_test = d["x_test"]
    tids = subset_ids(d["y_test"], cfg.n_test, cfg.seed + 1) if x_test is not None else None
    if x_test is not None:
        x_test = x_test[tids]
    if d["kind"] == "image":
        xt, xtt, meta = image_tensors(to_unit_float(x), to_unit_float(x_test) if x_test is not None else None)
    else:
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        xtt = torch.from_numpy(np.ascontiguousarray(x_test, dtype=np.float32)) if x_test is not None else None
        meta = {}
    meta["source"] = str(path)
    return Dataset(
        name="npz", kind=d["kind"], x=xt, y=labels_tensor(d["y"][ids]), classes=d["classes"],
        x_test=xtt, y_test=labels_tensor(d["y_test"][tids]) if x_test is not None else None,
        meta=meta, loss="ce",
    )
