"""The whole loop on the bundled example: ``ecopatrol demo``.

registry → plans (drone, van) → simulated field data → georeferenced samples →
evidence → targets → map and report. Each stage writes its contract artefact into the
fixed output layout, so a user can stop after any stage and continue by hand.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

LAYOUT = ("area", "plans/drone", "plans/van", "field", "samples", "evidence")


@dataclass
class DemoResult:
    out: Path
    stages: list[tuple[str, float, str]] = field(default_factory=list)  # (stage, seconds, what)

    def describe(self) -> str:
        lines = [f"ecopatrol demo: outputs in {self.out.resolve()}"]
        for stage, secs, what in self.stages:
            lines.append(f"  {stage:<10} {secs:6.1f} s  {what}")
        return "\n".join(lines)


def _stage(result: DemoResult, name: str):
    class _T:
        def __enter__(self):
            self.t = time.perf_counter()
            return self

        def __exit__(self, *exc):
            if exc[0] is None:
                result.stages.append((name, time.perf_counter() - self.t, self.what))
                log.info("demo %s: %s", name, self.what)

        what = ""

    return _T()


def run_demo(out: str | Path, *, seed: int = 0) -> DemoResult:
    """Run every available stage of the loop on the bundled Jimo example into ``out``."""
    from .core.area import export_area, load_area

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for sub in LAYOUT:
        (out / sub).mkdir(parents=True, exist_ok=True)
    result = DemoResult(out)
    with _stage(result, "area") as st:
        export_area("jimo", out / "area")
        area = load_area(out / "area", strict=True)
        s = area.summary()
        st.what = (f"area/ — {s['enterprises']} enterprises ({s['positive_list']} positive list), "
                   f"{s['sources']} sources, {s['nofly_zones']} zones; checks passed")
    return result
