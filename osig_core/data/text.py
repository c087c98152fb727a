"""`text` and `text:PATH`: character-level next-token prediction.

A sample is a window of CONTEXT characters (positions i..i+T-1, stride 1) and its target is the next
character. The last TEST_FRACTION of the corpus is held out: test windows come only from that tail.
--n / --n-test pick a seeded random subset of windows, kept in corpus order (class balance is
impossible for rare characters). classes = the vocabulary: sorted unique characters of the corpus.
`text` alone uses a generated corpus (text_corpus) and marks the Appendix-B opposing pair in
`features`: contexts ending in ':' whose target is '\\n' ("colon_newline") or ' ' ("colon_space").
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from osig_core.data.base import Dataset, DataError
from osig_core.data.common import STREAM_FIXED, STREAM_TEST, STREAM_TRAIN, random_ids, rng_for
from osig_core.data.text_corpus import generate_corpus

if TYPE_CHECKING:
    from osig_core.config.run_config import RunConfig

CONTEXT = 32
TEST_FRACTION = 0.1
BUILTIN_LENGTH = 200_000
MIN_LENGTH = int((CONTEXT + 1) / TEST_FRACTION)  # so that the held-out tail holds at least one window


def read_text(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"text file '{path}' does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"text file '{path}' is not UTF-8 text") from None
    except OSError as e:
        raise DataError(f"cannot read text file '{path}' ({e.strerror or e})") from None
    if not text.strip():
        raise DataError(f"text file '{path}' is empty")
    if len(text) < MIN_LENGTH:
        raise DataError(f"text file '{path}' has {len(text)} characters; it needs at least {MIN_LENGTH}")
    return text


def windows(ids: np.ndarray, starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Context windows x long [M, T] starting at `starts` and their next-character targets y [M]."""
    x = ids[starts[:, None] + np.arange(CONTEXT)[None, :]]
    y = ids[starts + CONTEXT]
    return torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y.astype(np.int64))


def build_from_text(name: str, text: str, cfg: RunConfig) -> Dataset:
    """Windows of `text` split into a train head and a held-out test tail."""
    vocab = sorted(set(text))
    lookup = {ch: i for i, ch in enumerate(vocab)}
    ids = np.fromiter((lookup[ch] for ch in text), dtype=np.int64, count=len(text))
    split = int(len(text) * (1 - TEST_FRACTION))
    train_starts = random_ids(split - CONTEXT, cfg.n, cfg.seed, STREAM_TRAIN)
    test_starts = split + random_ids(len(text) - split - CONTEXT, cfg.n_test, cfg.seed, STREAM_TEST)
    x, y = windows(ids, train_starts)
    x_test, y_test = windows(ids, test_starts)
    meta = {"context": CONTEXT, "corpus_chars": len(text), "test_from_char": split}
    return Dataset(name=name, kind="text", x=x, y=y, classes=vocab, x_test=x_test, y_test=y_test,
                   meta=meta, loss="ce")


def colon_features(data: Dataset) -> dict[str, np.ndarray]:
    """Ground truth of the ':' -> '\\n' vs ':' -> ' ' opposing pair, per training sample."""
    vocab = data.classes
    ends_colon = (data.x[:, -1] == vocab.index(":")).numpy()
    target = data.y.numpy()
    return {
        "colon_newline": ends_colon & (target == vocab.index("\n")),
        "colon_space": ends_colon & (target == vocab.index(" ")),
    }


def build(cfg: RunConfig, arg: str | None) -> Dataset:
    """`text:PATH` reads a UTF-8 file; `text` generates the recipe-card corpus from cfg.seed."""
    if arg:
        path = Path(arg).expanduser()
        data = build_from_text("text", read_text(path), cfg)
        data.meta["source"] = str(path)
        return data
    corpus = generate_corpus(BUILTIN_LENGTH, rng_for(cfg.seed, STREAM_FIXED))
    data = build_from_text("text", corpus, cfg)
    data.features = colon_features(data)
    data.meta["source"] = "built-in recipe-card corpus (osig_core/data/text_corpus.py)"
    return data
