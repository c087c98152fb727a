"""The built-in corpus of `text`: recipe cards from a small template grammar (deterministic per seed).

Why: the paper's Appendix B finds an opposing pair in GPT-2 where a colon is followed either by a
newline ("Ingredients:\\n") or by " the" ("Note: the ..."). Here the word before the colon decides
which (block keys -> newline, inline keys -> " the"), so a model must learn to look past the colon.
Lines are short so that about one character in fourteen (7%) is a colon: at n = 2000 windows about
150 contexts end in ':' and they split about evenly between the two continuations.
"""
from __future__ import annotations

import numpy as np

BLOCK_KEYS = ["Ingredients", "Steps", "Method", "Makes", "Serves"]  # followed by "\n"
INLINE_KEYS = ["Name", "Note", "Tip", "Dish", "Oven"]  # followed by " the"
ADJECTIVES = ["red", "hot", "sweet", "fresh", "green", "warm", "soft", "best", "old", "spicy"]
FOODS = ["pie", "soup", "cake", "bread", "stew", "rice", "tea", "jam", "salad", "fish", "egg", "bean"]
VERBS = ["mix", "bake", "stir", "chop", "boil", "fry", "cool", "serve"]
NUMBERS = ["2", "3", "4", "6", "8", "10", "12"]


def _block_line(key: str, rng: np.random.Generator) -> str:
    """'Key:\\n' and a short value line below it."""
    pick = lambda words: words[int(rng.integers(len(words)))]  # noqa: E731
    if key in ("Makes", "Serves"):
        body = pick(NUMBERS)
    elif key == "Ingredients":
        body = pick(FOODS)
    else:
        body = pick(VERBS)
    return f"{key}:\n{body}\n"


def _inline_line(key: str, rng: np.random.Generator) -> str:
    """'Key: the ...' on one line."""
    pick = lambda words: words[int(rng.integers(len(words)))]  # noqa: E731
    if key in ("Note", "Tip", "Oven"):
        return f"{key}: the {pick(ADJECTIVES)}\n"
    return f"{key}: the {pick(FOODS)}\n"


def generate_corpus(length: int, rng: np.random.Generator) -> str:
    """At least `length` characters of recipe cards (blank line between cards), cut to `length`."""
    parts: list[str] = []
    total = 0
    while total < length:
        lines = int(rng.integers(3, 7))
        card = []
        for _ in range(lines):
            if rng.random() < 0.5:
                card.append(_block_line(BLOCK_KEYS[int(rng.integers(len(BLOCK_KEYS)))], rng))
            else:
                card.append(_inline_line(INLINE_KEYS[int(rng.integers(len(INLINE_KEYS)))], rng))
        text = "".join(card) + "\n"
        parts.append(text)
        total += len(text)
    return "".join(parts)[:length]
