"""What a report is: claim checks (computed on stored data) and figures, written as Markdown + JSON."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Check:
    """One computed check of a claim. passed=None: it could not be computed (reason in `observed`)."""
    claim: str
    observed: str
    passed: bool | None
    value: float | None = None

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: "n/a"}[self.passed]


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

    def check(self, claim: str, observed: str, passed: bool | None, value: float | None = None) -> Check:
        c = Check(claim, observed, None if passed is None else bool(passed), _finite(value))
        self.checks.append(c)
        return c

    def unavailable(self, claim: str, why: str) -> Check:
        return self.check(claim, why, None)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        return d

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        if self.preset:
            lines += [f"Preset `{self.preset}`.", ""]
        lines += [f"**Claim.** {self.claim}", "", "## Checks", "", "| check | observed | result |", "|---|---|---|"]
        for c in self.checks:
            lines.append(f"| {_md(c.claim)} | {_md(c.observed)} | {c.verdict} |")
        if not self.checks:
            lines.append("| (no checks for this run) | | |")
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
