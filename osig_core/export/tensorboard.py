"""`osig export RUN --tensorboard DIR`: a run as TensorBoard event files, where many users already look.

Needs only the `tensorboard` package (`pip install "osig[tensorboard]"`), never torch: the events are
TensorBoard's own protos in TFRecord framing (checksummed with numpy: TensorBoard's pure-Python
CRC made the pictures slow). What is written (names from
osig_core.export.step_measurements, so a live `Monitor(on_step=...)` tracker and an export draw the same charts):

- every scalar of every step, under `tag_for(name)`; the sharpness band and per-layer curvature shares;
- at each recorded loss change, the top outliers (rising and falling) as one image row each
  (`outliers/rising`, `outliers/falling`: image data) and a table of their ids, labels and
  predictions (`outliers/rising_samples`, ...: text), picked as the dashboard picks them;
- a custom-scalars layout drawing sharpness against its threshold and the band on one chart.

The event file goes to DIR/<run id>/, so `tensorboard --logdir DIR` compares runs exported to one DIR.
It is written under a temporary name and renamed, replacing an earlier export of the same run.
"""
from __future__ import annotations

import os
import socket
import struct
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from osig_core.config.run_config import ConfigError
from osig_core.export.crc32c import masked_crc32c
from osig_core.export.tables import _write_whole
from osig_core.groups.extremes import clean_delta, top_k_extremes
from osig_core.export.step_measurements import step_measurements, tag_for

SUFFIX = ".osig"  # marks the event files osig wrote, the only ones a re-export replaces
GAP = 2  # pixels between the pictures of one outlier row


def _tensorboard() -> SimpleNamespace:
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
        from tensorboard.plugins.custom_scalar import layout_pb2
    except ImportError:
        raise ConfigError('osig export --tensorboard needs TensorBoard: pip install "osig[tensorboard]"') from None
    return SimpleNamespace(Event=event_pb2.Event, Summary=summary_pb2.Summary, SummaryMetadata=summary_pb2.SummaryMetadata,
                           TensorProto=tensor_pb2.TensorProto, Shape=tensor_shape_pb2.TensorShapeProto,
                           DT_STRING=types_pb2.DT_STRING, layout=layout_pb2)


def png(image: np.ndarray) -> bytes:
    """A uint8 [H, W, 3] picture as PNG bytes (zlib only: no imaging library needed)."""
    h, w, _ = image.shape
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def outlier_row(images: np.ndarray, ids: list[int]) -> np.ndarray:
    """The pictures of `ids` side by side, GAP white pixels apart (grey pictures as RGB)."""
    h, w = images.shape[1:3]
    row = np.full((h, len(ids) * (w + GAP) - GAP, 3), 255, np.uint8)
    for j, i in enumerate(ids):
        pic = np.asarray(images[i], np.uint8).reshape(h, w, -1)
        row[:, j * (w + GAP): j * (w + GAP) + w] = pic[..., :3] if pic.shape[2] >= 3 else pic[..., :1]
    return row


def outliers_by_step(run, k: int):
    """(step, up items, down items) at each step with a loss change: the engine's stored extremes,
    else the largest changes between its loss row and the one before (as the dashboard does)."""
    stored = {s: p for s, p in run.records("extremes") if isinstance(p, dict)}
    steps = run.loss_steps()
    losses = preds = None
    labels = run.labels()
    for r in range(1, len(steps)):
        s = int(steps[r])
        if s in stored:
            yield s, list(stored[s].get("up", []))[:k], list(stored[s].get("down", []))[:k]
            continue
        if losses is None:
            losses, preds = run.losses(), run.preds()
        delta = clean_delta(losses[r - 1], losses[r])
        up, down = top_k_extremes(delta, k)

        def items(ids):
            return [{"id": int(i), "delta": float(delta[i]), "label": labels[i].item(),
                     "pred_before": int(preds[r - 1][i]), "pred_after": int(preds[r][i])} for i in ids]
        yield s, items(up), items(down)


def _markdown(items: list[dict], classes: list[str], texts: list[str] | None) -> str:
    def name(v):
        return classes[v] if isinstance(v, int) and 0 <= v < len(classes) else v
    head = "| rank | id | loss change | label | prediction before → after |" + (" sample |" if texts else "")
    lines = [head, "|" + "---|" * (6 if texts else 5)]
    for j, it in enumerate(items):
        i = int(it["id"])
        cells = [str(j + 1), str(i), f"{float(it['delta']):+.4g}", str(name(it.get("label"))),
                 f"{name(it.get('pred_before'))} → {name(it.get('pred_after'))}"]
        if texts:
            cells.append(str(texts[i]).replace("|", "\\|") if 0 <= i < len(texts) else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


class _Events:
    """Summaries into one event file: records of (length, its CRC, event, its CRC)."""

    def __init__(self, tb: SimpleNamespace, f):
        self.tb, self.f = tb, f
        self.write(tb.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def write(self, event) -> None:
        data = event.SerializeToString()
        head = struct.pack("<Q", len(data))
        self.f.write(head + struct.pack("<I", masked_crc32c(head)) + data + struct.pack("<I", masked_crc32c(data)))

    def values(self, step: int, wall: float, values: list) -> None:
        if values:
            self.write(self.tb.Event(wall_time=wall, step=step, summary=self.tb.Summary(value=values)))

    def text(self, tag: str, content: str, plugin: str = "text"):
        tb = self.tb
        tensor = tb.TensorProto(dtype=tb.DT_STRING, string_val=[content.encode("utf-8")], tensor_shape=tb.Shape())
        meta = tb.SummaryMetadata(plugin_data=tb.SummaryMetadata.PluginData(plugin_name=plugin))
        return tb.Summary.Value(tag=tag, metadata=meta, tensor=tensor)

    def image(self, tag: str, picture: np.ndarray):
        h, w = picture.shape[:2]
        img = self.tb.Summary.Image(height=h, width=w, colorspace=3, encoded_image_string=png(picture))
        return self.tb.Summary.Value(tag=tag, image=img)


def _layout(tb: SimpleNamespace, tags: set[str]):
    """Custom scalars: sharpness with its threshold on one chart, the band as a margin chart."""
    L = tb.layout
    charts = [L.Chart(title="sharpness vs threshold",
                      multiline=L.MultilineChartContent(tag=[r"^sharpness/(sharpness|threshold)$"]))]
    if {"sharpness/band_lower", "sharpness/band_upper"} <= tags:
        charts.append(L.Chart(title="sharpness band", margin=L.MarginChartContent(series=[
            L.MarginChartContent.Series(value="sharpness/sharpness", lower="sharpness/band_lower",
                                        upper="sharpness/band_upper")])))
    if any(t.startswith("layer_share/") for t in tags):
        charts.append(L.Chart(title="curvature share by layer", multiline=L.MultilineChartContent(tag=[r"^layer_share/"])))
    return L.Layout(category=[L.Category(title="osig", chart=charts)]).SerializeToString()


def write_events(run, f, k: int) -> dict[str, int]:
    """Every summary of `run` into the open file `f`; returns counts (steps, scalars, images)."""
    tb = _tensorboard()
    ev = _Events(tb, f)
    m = run.metrics()
    keys = [key for key in m if key not in ("step", "time")]
    layers = dict(run.records("layer_curvature"))
    tags: set[str] = set()
    n_scalars = n_images = 0
    for i, s in enumerate(m["step"].tolist()):
        scalars = {key: m[key][i] for key in keys if not np.isnan(m[key][i])}
        meas = step_measurements(s, scalars, {"layer_curvature": layers.get(s)})
        values = [tb.Summary.Value(tag=tag_for(name), simple_value=v) for name, v in meas.items() if name != "step"]
        tags.update(v.tag for v in values)
        n_scalars += len(values)
        ev.values(int(s), float(m["time"][i]), values)
    wall = dict(zip(m["step"].tolist(), m["time"].tolist()))
    if k > 0:
        images = run.images()
        texts = run.texts() if images is None else None
        classes = run.classes
        for s, up, down in outliers_by_step(run, k):
            values = []
            for side, items in (("rising", up), ("falling", down)):
                if not items:
                    continue
                values.append(ev.text(f"outliers/{side}_samples", _markdown(items, classes, texts)))
                if images is not None:
                    ids = [int(it["id"]) for it in items if 0 <= int(it["id"]) < len(images)]
                    if ids:
                        values.append(ev.image(f"outliers/{side}", outlier_row(images, ids)))
                        n_images += 1
            ev.values(s, wall.get(s, time.time()), values)
    if "sharpness/sharpness" in tags:
        layout = tb.TensorProto(dtype=tb.DT_STRING, string_val=[_layout(tb, tags)], tensor_shape=tb.Shape())
        meta = tb.SummaryMetadata(plugin_data=tb.SummaryMetadata.PluginData(plugin_name="custom_scalars"))
        ev.values(0, time.time(), [tb.Summary.Value(tag="custom_scalars__config__", metadata=meta, tensor=layout)])
    return {"steps": len(m["step"]), "scalars": n_scalars, "images": n_images}


def export_tensorboard(run, out_dir: Path, k: int = 8) -> Path:
    """Write the run's event file into out_dir/<run id>/ (replacing an earlier osig export there)."""
    _tensorboard()  # a missing package is one sentence before anything is made
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ConfigError(f"--tb-outliers (outlier pictures per step) must be 0 or more, got {k!r}")
    target = Path(out_dir) / run.run_id
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ConfigError(f"'{out_dir}' exists and is not a directory; --tensorboard needs a folder")
    target.mkdir(parents=True, exist_ok=True)
    old = [p for p in target.iterdir() if p.name.startswith("events.out.tfevents.") and p.name.endswith(SUFFIX)]
    out = target / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}{SUFFIX}"

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            write_events(run, f, k)
    _write_whole(out, write)
    for p in old:
        if p != out:
            p.unlink(missing_ok=True)
    return out
