"""Find and read the artefacts a map or report shows, tolerating any that are absent.

A *folder* is a demo output folder (``area/``, ``plans/drone/plan.json``,
``plans/van/plan.json``, ``samples/samples.parquet``, ``evidence/…``, ``targets.csv``) or any
folder that holds some of those files, possibly flat (``plan.json`` files are then told apart by
their ``kind``). Every artefact follows /CONTRACTS.md; coordinates are WGS-84 ``(lon, lat)``.
A missing artefact is ``None`` (its layer or section is simply not drawn); a present but
unreadable one raises :class:`~ecopatrol.core.errors.FormatError` naming the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecopatrol.core.artefacts.evidence import read_evidence, read_summary
from ecopatrol.core.artefacts.plan import plan_kind, read_plan
from ecopatrol.core.artefacts.samples import SPECIES_SUFFIXES, read_samples
from ecopatrol.core.artefacts.targets import read_targets
from ecopatrol.core.errors import FormatError, InputFileNotFoundError

if TYPE_CHECKING:
    from ecopatrol.core.area import AreaLike

log = logging.getLogger(__name__)

#: Species columns in preference order for colouring tracks (unit in the name).
SPECIES_PREFERENCE = ("tvoc_ugm3", "benzene_ppb", "toluene_ppb", "xylene_ppb", "ch4_ppm")


@dataclass
class Artefacts:
    """Everything found in an output folder; absent artefacts are ``None``."""

    folder: Path
    area: AreaLike | None = None           # ecopatrol.core.area.Area or another AreaLike
    drone_plan: dict | None = None
    van_plan: dict | None = None
    samples: pd.DataFrame | None = None    # plain DataFrame with lon/lat columns
    samples_path: Path | None = None
    quarantine: pd.DataFrame | None = None
    events: Any = None                     # GeoDataFrame (points)
    hotspots_tif: Path | None = None
    hotspots: Any = None                   # GeoDataFrame (polygons, `confidence`)
    attribution: pd.DataFrame | None = None
    flux: pd.DataFrame | None = None
    targets: pd.DataFrame | None = None
    evidence_summary: dict | None = None   # evidence.json (incl. `area`, `area_path`, `skipped`)
    alarms: pd.DataFrame | None = None     # alarms.csv of `ecopatrol monitor alarms` (issue 17)
    found: list[str] = field(default_factory=list)

    @property
    def enterprises(self):
        return None if self.area is None else self.area.enterprises

    @property
    def nofly(self):
        return None if self.area is None else getattr(self.area, "nofly", None)

    @property
    def launch_sites(self):
        return None if self.area is None else getattr(self.area, "launch_sites", None)

    @property
    def depot(self):
        return None if self.area is None else getattr(self.area, "depot", None)

    @property
    def area_name(self) -> str:
        """The area's name, else the folder's (no area found)."""
        return (self.area.name if self.area is not None else None) or self.folder.name

    @property
    def synthetic(self) -> bool:
        """Whether the area says it is invented (``synthetic = true`` in ``area.toml``)."""
        return bool(((self.area.config if self.area is not None else None) or {}).get("synthetic", False))

    def area_note(self, lang: str = "en") -> str | None:
        """What is missing for want of an area (``None`` when there is one), for a map or report."""
        from .i18n import t

        if self.area is not None:
            return None
        note = t("area.none", lang)
        skipped = [str(s).split(":", 1)[0] for s in (self.evidence_summary or {}).get("skipped") or []]
        if skipped:
            note += t("area.skipped", lang, steps=", ".join(skipped))
        return note + ("。" if lang == "zh" else ".")

    def species(self) -> list[str]:
        """Species columns present in the samples, preferred first."""
        if self.samples is None:
            return []
        cols = [c for c in self.samples.columns if c.endswith(SPECIES_SUFFIXES)]
        return sorted(cols, key=lambda c: (SPECIES_PREFERENCE.index(c) if c in SPECIES_PREFERENCE
                                           else len(SPECIES_PREFERENCE), c))

    def wind(self) -> dict | None:
        """``{"from_deg", "speed_m_s", "stability"}`` from a plan, else the area defaults."""
        for plan in (self.drone_plan, self.van_plan):
            w = (plan or {}).get("wind")
            if w and w.get("from_deg") is not None:
                return {"from_deg": float(w["from_deg"]), "speed_m_s": float(w.get("speed_m_s") or 0.0),
                        "stability": w.get("stability")}
        cfg = (self.area.config if self.area is not None else None) or {}
        d = cfg.get("defaults", cfg)
        if isinstance(d, dict) and d.get("wind_from_deg") is not None:
            return {"from_deg": float(d["wind_from_deg"]),
                    "speed_m_s": float(d.get("wind_speed_m_s") or 0.0),
                    "stability": d.get("stability")}
        return None


def _first(folder: Path, *candidates: str) -> Path | None:
    for c in candidates:
        p = folder / c
        if p.exists():
            return p
    return None


def _read_csv(path: Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except Exception as exc:
        raise FormatError(f"`{path.name}`: cannot read as CSV: {exc}") from exc


def _evidence_dir(folder: Path) -> Path | None:
    return next((d for d in (folder / "evidence", folder) if d.is_dir() and any(
        (d / n).exists() for n in ("events.gpkg", "hotspots.tif", "hotspots.gpkg", "attribution.csv"))), None)


def _read_evidence_summary(ev: Path | None) -> dict | None:
    return None if ev is None else read_summary(ev)


def _load_area_any(area, folder: Path, evidence_summary: dict | None = None):
    """Return an Area for ``area`` (Area, name, path), else the folder's ``area/`` subfolder, else
    the area folder recorded in ``evidence.json`` (``area_path``), else ``None`` — never an example."""
    if area is not None and not isinstance(area, (str, Path)):
        return area
    target = area
    if target is None:
        for cand in (folder / "area", folder):
            if (cand / "area.toml").exists() or (cand / "registry.gpkg").exists() \
                    or (cand / "registry.csv").exists():
                target = cand
                break
    if target is None:
        recorded = (evidence_summary or {}).get("area_path")
        if recorded and Path(recorded).is_dir():
            log.info("area: %s (recorded in the evidence)", recorded)
            target = Path(recorded)
    if target is None:
        log.info("no area (registry) in %s/area, none recorded in the evidence and no --area: "
                 "enterprises are not shown", folder)
        return None
    from ecopatrol.core.area import load_area

    return load_area(target)


def load_artefacts(folder: str | Path, *, area=None, read_samples_table: bool = True) -> Artefacts:
    """Collect every artefact under ``folder``; absent ones stay ``None``.

    Raises :class:`InputFileNotFoundError` when ``folder`` does not exist or holds none of them.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileNotFoundError.keyed("run.missing", folder=folder)
    a = Artefacts(folder=folder)
    ev = _evidence_dir(folder)
    a.evidence_summary = _read_evidence_summary(ev)
    a.area = _load_area_any(area, folder, a.evidence_summary)
    if a.area is not None:
        a.found.append("area")

    for p in [*sorted(folder.glob("plans/*/plan.json")), *sorted(folder.glob("plans/plan*.json")),
              *sorted(folder.glob("plan*.json"))]:
        plan = read_plan(p)
        kind = plan_kind(plan)
        if kind == "drone" and a.drone_plan is None:
            a.drone_plan = plan
            a.found.append(f"drone plan ({p.relative_to(folder)})")
        elif kind == "van" and a.van_plan is None:
            a.van_plan = plan
            a.found.append(f"van plan ({p.relative_to(folder)})")

    sp = _first(folder, "samples/samples.parquet", "samples.parquet")
    if sp is not None:
        a.samples_path = sp
        if read_samples_table:
            a.samples = read_samples(sp, table=True)
        a.found.append("samples")
    a.quarantine = _read_csv(_first(folder, "samples/quarantine.csv", "quarantine.csv"))

    if ev is not None:
        tables = read_evidence(ev, geometry=True, require=None)
        a.events = tables["events"]
        a.hotspots_tif = _first(ev, "hotspots.tif")
        a.hotspots = tables["hotspots"]
        a.attribution = tables["attribution"]
        a.flux = tables["flux"]
        a.found += [n for n, v in (("events", a.events), ("hotspot raster", a.hotspots_tif),
                                   ("hotspot polygons", a.hotspots), ("attribution", a.attribution))
                    if v is not None]
    tp = _first(folder, "targets.csv", "evidence/targets.csv")
    if tp is not None:
        t = read_targets(tp)
        t["enterprise_id"] = t["enterprise_id"].astype(str)
        a.targets = t
        a.found.append("targets")
    ap = _first(folder, "alarms.csv", "evidence/alarms.csv")
    if ap is not None:
        from ecopatrol.processing.monitor.alarms import read_alarms

        a.alarms = read_alarms(ap)
        a.found.append("alarms")
    if not a.found:
        raise InputFileNotFoundError(
            f"`{folder}`: no artefacts found; expected some of area/, plans/drone/plan.json, "
            "plans/van/plan.json, samples/samples.parquet, evidence/, targets.csv")
    log.debug("artefacts in %s: %s", folder, ", ".join(a.found))
    return a


def species_label(col: str) -> tuple[str, str]:
    """``tvoc_ugm3`` → ``("TVOC", "µg/m³")``."""
    units = {"ugm3": "µg/m³", "ppb": "ppb", "ppm": "ppm", "mgm3": "mg/m³"}
    name, _, unit = col.rpartition("_")
    pretty = name.upper() if len(name) <= 4 else name.replace("_", " ").capitalize()
    return pretty, units.get(unit, unit)
