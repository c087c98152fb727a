"""Fuzzing the bring-your-own-data loaders: any .npz archive or text file gives a Dataset or one
DataError (ConfigError for settings), never another exception."""
from __future__ import annotations

import os
import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from osig_core.config.run_config import ConfigError, RunConfig
from osig_core.data.base import DataError
from osig_core.data.npz import build as build_npz
from osig_core.data.text import MIN_LENGTH, build as build_text

SETTINGS = settings(max_examples=int(os.environ.get("OSIG_FUZZ_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALLOWED = (DataError, ConfigError)

dtypes = st.sampled_from([np.uint8, np.int8, np.int64, np.uint64, np.float16, np.float32, np.float64, np.bool_,
                          np.complex64, "<U3", "S2", "<M8[s]"])


@st.composite
def arrays(draw, ndim_max=4, side_max=5):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=ndim_max, min_side=0, max_side=side_max))
    dtype = draw(dtypes)
    return draw(hnp.arrays(dtype, shape))


@st.composite
def archives(draw) -> dict:
    """A consistent archive (x, y, maybe classes and a test split), then some parts replaced by
    random arrays or dropped: mostly near-valid input, the kind that finds the edge cases."""
    n = draw(st.integers(1, 6))
    shape = draw(st.sampled_from([(4,), (6, 6), (6, 6, 3), (1, 6, 6), (5, 5, 2)]))
    dtype = draw(st.sampled_from([np.uint8, np.float32, np.int64]))
    k = draw(st.integers(1, 4))
    out = {"x": draw(hnp.arrays(dtype, (n, *shape))), "y": draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))}
    if draw(st.booleans()):
        out["classes"] = np.array(draw(st.lists(st.text(max_size=4), min_size=k, max_size=k)))
    if draw(st.booleans()):
        m = draw(st.integers(1, 3))
        out["x_test"] = draw(hnp.arrays(dtype, (m, *shape)))
        out["y_test"] = draw(hnp.arrays(np.int64, m, elements=st.integers(0, k - 1)))
    for key in ("x", "y", "classes", "x_test", "y_test"):
        what = draw(st.sampled_from(["keep"] * 6 + ["random", "drop"]))
        if what == "random":
            out[key] = draw(arrays(ndim_max=4 if key.startswith("x") else 2))
        elif what == "drop":
            out.pop(key, None)
    return out


def _build_from_file(build, data: bytes | None = None, arrays: dict | None = None, n: int | None = 4, suffix=".npz"):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"f{suffix}"
        if arrays is not None:
            np.savez(path, **arrays)
        else:
            path.write_bytes(data)
        cfg = RunConfig(n=n, n_test=n, data=f"x:{path}")
        try:
            ds = build(cfg, str(path))
        except ALLOWED as e:
            assert str(e)
            event(f"refused: {type(e).__name__}")
            return None
        event("built a dataset")
        assert ds.n > 0 and len(ds.y) == ds.n
        if ds.is_classification:
            assert int(ds.y.max()) < len(ds.classes) and int(ds.y.min()) >= 0
        return ds


@SETTINGS
@given(archives(), st.sampled_from([None, 1, 3, 100]))
def test_npz_archives_give_a_dataset_or_one_data_error(arrs, n):
    _build_from_file(build_npz, arrays=arrs, n=n)


def _valid_npz_bytes() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buf, x=rng.integers(0, 255, (6, 4, 4, 3), dtype=np.uint8), y=np.arange(6) % 2,
             classes=np.array(["cat", "dog"]), x_test=np.zeros((2, 4, 4, 3), np.uint8), y_test=np.array([0, 1]))
    return buf.getvalue()


VALID_NPZ = _valid_npz_bytes()


@st.composite
def corruptions(draw, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "zero"]))
        if not b:
            break
        pos = draw(st.integers(0, len(b) - 1))
        if kind == "flip":
            b[pos] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del b[pos:]
        elif kind == "insert":
            b[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            b[pos:pos + draw(st.integers(1, 64))] = b"\0" * len(b[pos:pos + 64])
    return bytes(b)


@SETTINGS
@given(corruptions(VALID_NPZ))
def test_corrupted_npz_bytes_give_a_dataset_or_one_data_error(data):
    _build_from_file(build_npz, data=data)


@SETTINGS
@given(st.one_of(st.binary(max_size=2 * MIN_LENGTH),
                 st.text(min_size=MIN_LENGTH, max_size=MIN_LENGTH + 200).map(lambda t: t.encode("utf-8", "surrogatepass")),
                 st.text(alphabet="ab:\n \x00\x1b", min_size=MIN_LENGTH - 2, max_size=MIN_LENGTH + 50).map(str.encode)),
       st.sampled_from([None, 1, 5, 10_000]))
def test_text_files_give_a_dataset_or_one_data_error(data, n):
    ds = _build_from_file(build_text, data=data, n=n, suffix=".txt")
    if ds is not None:
        assert ds.kind == "text" and ds.x.shape[1] == 32
