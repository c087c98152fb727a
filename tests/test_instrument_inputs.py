"""Instruments take explicit inputs (issue 23, item 3): no RunConfig under the instrument and group
packages, one settings object per instrument whose defaults are `osig run`'s, typed links."""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import torch
from torch import nn

import osig_core as osig
from osig_core.config.run_config import RunConfig
from osig_core.engine.inputs import instrument_settings, recorder_settings
from osig_core.instruments.inputs import PerSampleSettings, ProbeSettings, SharpnessSettings
from osig_core.loop.recording import RecorderSettings

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("osig_core/instruments", "osig_core/groups")


def _config_reads(path: Path) -> list[str]:
    """`cfg.X` reads and imports of RunConfig / osig_core.config.run_config in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "cfg":
            out.append(f"line {node.lineno}: cfg.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "osig_core.config.run_config":
            out += [f"line {node.lineno}: imports {a.name}" for a in node.names if a.name == "RunConfig"]
        elif isinstance(node, ast.Name) and node.id == "RunConfig":
            out.append(f"line {node.lineno}: RunConfig")
    return out


def test_no_instrument_or_group_module_reads_a_run_config():
    offenders = {str(p.relative_to(ROOT)): reads for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))
                 if (reads := _config_reads(p))}
    assert offenders == {}


def test_settings_defaults_are_osig_runs_defaults():
    """Monitor relies on these defaults; `osig run` maps its config (engine_inputs) field by field."""
    assert instrument_settings(RunConfig(sharpness_every=0)).sharpness == SharpnessSettings()
    cfg = RunConfig()
    assert instrument_settings(cfg).per_sample == PerSampleSettings(sharpness_every=cfg.sharpness_every)
    assert instrument_settings(cfg).probes == ProbeSettings()
    assert recorder_settings(cfg) == RecorderSettings(full_batch=cfg.full_batch)


def test_every_settings_field_follows_its_flag():
    cfg = RunConfig(sharpness_every=3, sharpness_subset=40, sharpness_tol=1e-5, sharpness_cheap_tol=0.1,
                    sharpness_budget=2.0, sharpness_follow=4, eig_k=2, seed=9, per_sample_every=7, outliers_k=5,
                    probes=["sky"], probe_every=6)
    s = instrument_settings(cfg)
    assert dataclasses.asdict(s.sharpness) == {"every": 3, "subset": 40, "tol": 1e-5, "cheap_tol": 0.1, "budget": 2.0,
                                               "follow": 4, "eig_k": 2, "seed": 9}
    assert s.per_sample == PerSampleSettings(every=7, sharpness_every=3, outliers_k=5, seed=9)
    assert s.probes == ProbeSettings(probes=("sky",), every=6, seed=9)


def test_the_monitor_hands_its_instruments_no_run_config(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x, y = torch.randn(30, 4), torch.randint(0, 3, (30,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    mon = osig.Monitor(tmp_path / "m", model, opt, data=(x, y), sharpness_every=2, sharpness_tol=1e-5, seed=4)
    try:
        assert [i.name for i in mon.instruments] == ["sharpness", "per_sample"]
        for part in mon.instruments + [mon.recorder]:
            assert not any(isinstance(v, RunConfig) for v in vars(part).values()), part
        assert mon.settings.sharpness == SharpnessSettings(every=2, subset=1000, tol=1e-5, seed=4)
        assert mon.optim_view.threshold() == (2 + 2 * 0.5) / 0.1
        opt.param_groups[0]["lr"] = 0.2  # a schedule: the view reads the groups again
        assert mon.optim_view.threshold() == (2 + 2 * 0.5) / 0.2
        mon.step()
        assert mon.links.sharpness is not None and mon.links.sharpness.step == 0
    finally:
        mon.close()


def test_the_layers_of_the_step():
    """instruments <- loop <- {engine, monitor}: the instruments know neither the step core nor a
    driver; the core knows no driver and no RunConfig; both drivers use the core (docs/architecture.md)."""
    from import_graph import import_graph
    graph = import_graph()
    drivers = ("osig_core.engine.training", "osig_core.engine.inputs", "osig_core.monitor.driver", "osig_core.api")

    def reaches(prefix: str, banned: tuple[str, ...]) -> list[str]:
        return sorted(f"{m} imports {t}" for m, targets in graph.items() if m.startswith(prefix)
                      for t in targets if t.startswith(banned))
    assert reaches("osig_core.instruments", drivers + ("osig_core.loop", "osig_core.config.run_config", "osig_core.loop.recording")) == []
    assert reaches("osig_core.loop", drivers + ("osig_core.config.run_config",)) == []
    assert "osig_core.loop.core" in graph["osig_core.engine.training"] and "osig_core.loop.core" in graph["osig_core.monitor.driver"]
