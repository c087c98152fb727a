"""Pictures in 256-colour terminals: each pixel becomes the nearest of xterm's 240 fixed colours
(the 6×6×6 cube, indices 16–231, and the 24-step grey ramp, 232–255), nearest in CIELAB, so
distances follow what the eye sees; the grey ramp keeps dark and pale low-saturation regions apart.

Without this, Rich maps each 24-bit colour to 256 colours itself (or, with TERM=xterm, to 16) and
the small, low-contrast thumbnails collapse into flat grey blocks. The indices are emitted as
explicit `38;5;N` / `48;5;N` codes, which every 256-colour terminal (and tmux) draws as is.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

CUBE_LEVELS = np.array([0, 95, 135, 175, 215, 255], dtype=np.float64)
GREY_LEVELS = np.arange(24, dtype=np.float64) * 10 + 8


@lru_cache(maxsize=1)
def palette() -> np.ndarray:
    """[240, 3] uint8 RGB of xterm colours 16..255 (row k is colour 16 + k)."""
    r, g, b = np.meshgrid(CUBE_LEVELS, CUBE_LEVELS, CUBE_LEVELS, indexing="ij")
    cube = np.stack([r.ravel(), g.ravel(), b.ravel()], axis=1)
    grey = np.repeat(GREY_LEVELS[:, None], 3, axis=1)
    return np.concatenate([cube, grey]).astype(np.uint8)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (uint8, [..., 3]) to CIELAB (D65)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


@lru_cache(maxsize=1)
def _palette_lab() -> np.ndarray:
    return rgb_to_lab(palette())


def nearest_index(rgb: np.ndarray) -> np.ndarray:
    """xterm colour numbers (16..255) nearest to each RGB pixel of [..., 3] uint8, by CIE76 ΔE."""
    px = np.asarray(rgb, dtype=np.uint8)
    lab = rgb_to_lab(px.reshape(-1, 3))
    pal = _palette_lab()
    d = (pal ** 2).sum(1)[None, :] - 2.0 * lab @ pal.T  # |lab - pal|² less |lab|², the same argmin
    return (np.argmin(d, axis=1) + 16).reshape(px.shape[:-1])


def index_rgb(index: np.ndarray) -> np.ndarray:
    """The RGB a terminal shows for xterm colour numbers 16..255."""
    return palette()[np.asarray(index) - 16]


def delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CIE76 colour difference between two RGB arrays (about 2.3 is a just-noticeable difference)."""
    return np.sqrt(((rgb_to_lab(a) - rgb_to_lab(b)) ** 2).sum(-1))
