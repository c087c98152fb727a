"""Terminal output for the CLI: errors as one sentence on stderr, tables that show text literally.

Everything that comes from a run (class names, paths, messages) goes through `safe()`, so escape
sequences and Rich markup in it are shown, never interpreted.
"""
from __future__ import annotations

import math
import os
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

_no_color = bool(os.environ.get("NO_COLOR"))
out = Console(no_color=_no_color, highlight=False)
err = Console(stderr=True, no_color=_no_color, highlight=False)


def safe(value: object) -> Text:
    """Literal text: control characters become visible escapes, markup is not parsed."""
    s = str(value)
    cleaned = "".join(ch if (ch.isprintable() or ch == " ") else repr(ch)[1:-1] for ch in s)
    return Text(cleaned)


def error(message: str) -> None:
    msg = safe(message).plain
    if not msg.endswith((".", "!", "?")):
        msg += "."
    err.print(Text("osig: error: ", style="bold red") + Text(msg), soft_wrap=True)


def info(message: str) -> None:
    out.print(safe(message))


def fmt(v: float | None, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}g}"


def last_finite(values) -> float | None:
    for v in reversed(list(values)):
        if v == v:  # not NaN
            return float(v)
    return None


def sharpness_band(m: dict) -> str | None:
    """The last estimate's band and what it guarantees, or None for a run without one (older runs
    stored only eig_bound, a bracket around *an* eigenvalue, which is not a band for the top one)."""
    if "sharpness_upper" not in m or "sharpness" not in m:
        return None
    pairs = [(v, u) for v, u in zip(m["sharpness"], m["sharpness_upper"]) if v == v and u == u]
    if not pairs:
        return None
    value, upper = pairs[-1]
    return (f"[{fmt(value)}, {fmt(upper)}]: holds the top Hessian eigenvalue with probability ≥ 99.9% "
            "(probabilistic upper end, certain lower end; docs/curvature.md)")


def print_summary(run) -> None:
    m = run.metrics()
    status, reason = run.status()
    cfg = run.config
    t = Table(title=safe(f"run {run.run_id}"), show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("directory", safe(run.dir))
    t.add_row("status", safe(status + (f" ({reason})" if reason and status != "finished" else "")))
    t.add_row("model / optimizer", safe(f"{cfg.model} (width {cfg.width}) / {cfg.optim}, lr {cfg.lr}"))
    t.add_row("data", safe(f"{cfg.data}, n={run.n}"))
    t.add_row("steps", f"{run.steps_done()} / {cfg.steps}")
    regression = not run.classes  # an accuracy means nothing there (the engine's is a tolerance hit rate)
    for key, label in (("train_loss", "train loss"), ("train_acc", "train accuracy"), ("test_acc", "test accuracy"),
                       ("frac_up", "fraction of losses rising"), ("sharpness", "sharpness"), ("threshold", "threshold"),
                       ("opposing_score", "opposing score")):
        if key in m and not (regression and key.endswith("_acc")):
            t.add_row(label, fmt(last_finite(m[key])))
            if key == "sharpness":
                band = sharpness_band(m)
                if band:
                    t.add_row("sharpness band", band)
    from osig_core.store.cost import active_seconds, cost_shares, format_shares, steps_per_second
    rate, active = steps_per_second(m.get("step_time")), active_seconds(m)
    if rate:
        t.add_row("steps/s", f"{rate:.3g} (last {min(len(m['step']), 50)} steps)")
    if active is not None:
        t.add_row("wall time", f"{active:.1f} s (time stopped or paused not counted)")
    elif len(m.get("time", [])) > 1:
        t.add_row("wall time", f"{m['time'][-1] - m['time'][0]:.1f} s")
    shares = cost_shares(m)
    if shares:
        t.add_row("share of wall time", safe(format_shares(shares)))
    out.print(t)


def print_config(run) -> None:
    t = Table(title="config", show_header=False, box=None)
    t.add_column(style="bold")
    t.add_column()
    for k, v in run.config.to_dict().items():
        t.add_row(k, safe(v))
    out.print(t)
