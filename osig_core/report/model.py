"""What a report is: claim checks (computed on stored data) and figures, written as Markdown + JSON.

Every check says how many events decided it ("12 moves", "47 estimates") and gives no verdict on fewer
than its minimum (MIN_EVENTS unless the check states its own): an edge-of-stability trajectory differs
between machines and thread counts in its details, so a verdict on a handful of events is a coin that
lands differently per machine. Such a check reads "not enough events", neither pass nor FAIL."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path


MIN_EVENTS = 10  # the fewest events (moves, estimates, samples, steps) a verdict may rest on


@dataclass
class Check:
    """One computed check of a claim. passed=None: it could not be computed (reason in `observed`),
    or too few events decided it (`events` < `min_events`)."""
    claim: str
    observed: str
    passed: bool | None
    value: float | None = None
    events: int | None = None  # how many events decided it
    unit: str = ""  # what an event is: "moves", "estimates", "samples", ...
    min_events: int = MIN_EVENTS

    @property
    def too_few(self) -> bool:
        return self.events is not None and self.events < self.min_events

    @property
    def verdict(self) -> str:
        if self.too_few:
            return "not enough events"
        return {True: "pass", False: "FAIL", None: "n/a"}[self.passed]

    @property
    def decided_on(self) -> str:
        """'12 moves' (or '3 moves, < 10' when too few); '' where the check counts none."""
        if self.events is None:
            return ""
        return f"{self.events} {self.unit}".strip() + (f", < {self.min_events}" if self.too_few else "")


@dataclass
class Figure:
    file: str  # file name inside the report folder
    caption: str


@dataclass
class Report:
    title: str
    preset: str | None  # preset name (None for a run without one)
    claim: str  # the paper's finding, in one or two sentences
    runs: dict[str, str]  # member name -> run directory
    checks: list[Check] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed is True for c in self.checks)

    def check(self, claim: str, observed: str, passed: bool | None, value: float | None = None,
              events: int | None = None, unit: str = "", min_events: int = MIN_EVENTS) -> Check:
        """`events`: how many events decided it, of kind `unit`; fewer than `min_events` gives no verdict."""
        events = None if events is None else int(events)
        decided = None if passed is None or (events is not None and events < min_events) else bool(passed)
        c = Check(claim, observed, decided, _finite(value), events, unit, int(min_events))
        self.checks.append(c)
        return c

    def unavailable(self, claim: str, why: str) -> Check:
        return self.check(claim, why, None)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        d["checks"] = [{**asdict(c), "verdict": c.verdict, "decided_on": c.decided_on} for c in self.checks]
        return d

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        if self.preset:
            lines += [f"Preset `{self.preset}`.", ""]
        lines += [f"**Claim.** {self.claim}", "", "## Checks", "",
                  "| check | observed | decided on | result |", "|---|---|---|---|"]
        for c in self.checks:
            lines.append(f"| {_md(c.claim)} | {_md(c.observed)} | {_md(c.decided_on)} | {c.verdict} |")
        if not self.checks:
            lines.append("| (no checks for this run) | | | |")
        lines += ["", "## Runs", ""]
        lines += [f"- {name}: `{path}`" for name, path in self.runs.items()]
        if self.figures:
            lines += ["", "## Figures", ""]
            for f in self.figures:
                lines += [f"![{_md(f.caption)}]({f.file})", "", f"*{_md(f.caption)}*", ""]
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {_md(n)}" for n in self.notes]
        return "\n".join(lines).rstrip() + "\n"

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.md").write_text(self.to_markdown(), encoding="utf-8")
        (out / "report.json").write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")


def _finite(v: float | None) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _md(text: str) -> str:
    """Text as a literal Markdown table cell: no pipes or line breaks from run data."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def fmt(x: float, digits: int = 3) -> str:
    """A number for an 'observed' cell: NaN shown as 'n/a'."""
    if x is None or not math.isfinite(float(x)):
        return "n/a"
    return f"{float(x):.{digits}g}"
