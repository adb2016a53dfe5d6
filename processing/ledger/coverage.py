"""Which firms a survey run actually covered, and what the evidence says about each.

A firm is **covered** by a run when, under the wind measured on each pass (the wind columns of
the samples, else the run's default), the Gaussian plume of each of its stacks emitting
:data:`DETECTION_RATE_G_S` would have raised at least :data:`MIN_COVER_SAMPLES` usable samples
(QA-clean) by :data:`DETECTION_K_NOISE` × the survey's noise: an emission that large could not
have passed unseen. The plume is the one attribution fits (``processing.attribution``'s operator
over ``core.dispersion``'s unit plume, same candidate sources, same effective heights). A firm is
covered only when every one of its stacks is (an emission from any of them would have been seen):
that is what a ``clean`` result needs. A firm only some of whose stacks were covered is still
recorded when the attribution found it emitting (``suspicious``): positive evidence needs no
proof that every stack was in view, and without it a firm with a tall stack whose plume never
reaches the road at the detection rate got no check on the days the survey saw it emit.

The **result** of a covered firm comes from the evidence folder: ``suspicious`` when the sparse
attribution gives its enterprise an emission probability ≥ :data:`SUSPICIOUS_PIP` or a drone
curtain targeted at it measured a flux with z ≥ :data:`SUSPICIOUS_FLUX_Z` its plume explains,
``clean`` otherwise. A firm a plan targeted that is not covered is ``not assessable``, with the
reason (how many samples its plume reached, and how many were needed).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.artefacts.evidence import read_summary
from ecopatrol.core.artefacts.plan import read_plan
from ecopatrol.core.errors import InputError, InputFileNotFoundError
from ecopatrol.core.io import sha256_file

log = logging.getLogger(__name__)

#: The emission a covered firm could not have hidden (g/s of TVOC from any one stack). 0.5 g/s is a
#: small printing or coating line without working abatement (enterprise VOC emissions: 0.1–10 g/s).
DETECTION_RATE_G_S = 0.5
DETECTION_K_NOISE = 3.0  # "would have been seen": a predicted enhancement ≥ 3 noise sd …
MIN_COVER_SAMPLES = 5  # … on at least this many usable samples
DEFAULT_NOISE_UGM3 = 5.0  # when neither evidence.json nor the samples give a noise
SUSPICIOUS_PIP = 0.5
SUSPICIOUS_FLUX_Z = 3.0
MIN_TARGET_MATCH = 0.5
ROW_CHUNK = 2000
#: Files of a run whose digests identify it (and are cited as the checks' evidence).
EVIDENCE_FILES = ("samples/samples.parquet", "evidence/evidence.json", "evidence/rates.csv",
                  "evidence/attribution.csv", "evidence/flux.csv", "evidence/events.gpkg")


@dataclass
class RunAssessment:
    run_dir: Path
    run_key: str
    area: str | None
    survey_start_utc: pd.Timestamp | None
    survey_end_utc: pd.Timestamp | None
    files: list[dict]
    detection_rate_g_s: float
    noise_ugm3: float
    checks: list[dict] = field(default_factory=list)  # one per enterprise covered or targeted
    enterprises: pd.DataFrame | None = None  # the area registry (for the ledger's firm table)

    def summary(self) -> dict:
        from collections import Counter

        return {"run_key": self.run_key, "run_dir": str(self.run_dir), "area": self.area,
                "detection_rate_g_s": self.detection_rate_g_s, "noise_ugm3": round(self.noise_ugm3, 3),
                "checks": len(self.checks),
                "covered": sum(c["result"] != "not assessable" for c in self.checks),
                "by_result": dict(sorted(Counter(c["result"] for c in self.checks).items())),
                "by_method": dict(sorted(Counter(c["method"] for c in self.checks).items()))}


def run_files(run_dir: Path) -> list[dict]:
    """``[{file, sha256}]`` of the run's evidence files present (paths relative to the run)."""
    out = []
    for rel in EVIDENCE_FILES:
        p = run_dir / rel
        if p.exists():
            out.append({"file": rel, "sha256": sha256_file(p)})
    return out


def run_key_of(files: list[dict]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f['file']}\0{f['sha256']}\n".encode())
    return h.hexdigest()


def planned_targets(run_dir: Path) -> dict[str, str]:
    """Enterprise id → the method of the plan that targeted it (``drone curtain`` wins over ``van pass``)."""
    out: dict[str, str] = {}
    van = run_dir / "plans" / "van" / "plan.json"
    if van.exists():
        for r in read_plan(van, kind="van").get("routes", []):
            for t in list(r.get("targets_covered", [])) + list(r.get("targets_dropped", [])):
                out[str(t["target_id"] if isinstance(t, dict) else t)] = "van pass"
    drone = run_dir / "plans" / "drone" / "plan.json"
    if drone.exists():
        for s in read_plan(drone, kind="drone").get("sorties", []):
            for t in s.get("targets", []):
                out[str(t)] = "drone curtain"
    return out


def _noise(summary: dict, samples: pd.DataFrame) -> float:
    rule = summary.get("hotspot_rule") or {}
    vals = [float(v["noise"]) for k, v in rule.items()
            if isinstance(v, dict) and v.get("used") and np.isfinite(v.get("noise", np.nan))]
    if vals:
        return max(vals)
    x = pd.to_numeric(samples.get("tvoc_ugm3"), errors="coerce").dropna().to_numpy(float)
    if len(x) >= 20:
        d = np.diff(x)  # the sample-to-sample scatter: robust to plumes and a drifting background
        mad = 1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2)
        if mad > 0:
            return float(mad)
    return DEFAULT_NOISE_UGM3


def coverage_counts(samples: pd.DataFrame, area, *, crs, wind, threshold_unit: float) -> pd.DataFrame:
    """Per candidate source: usable samples its unit plume reaches at ≥ ``threshold_unit`` (µg/m³ per g/s),
    in total and from drones, and the median time of those samples."""
    from ecopatrol.processing._evidence_util import is_ground_platform
    from ecopatrol.processing.attribution import build_operator

    op = build_operator(samples, area, crs=crs, wind=wind)
    n_src = len(op.sources)
    total = np.zeros(n_src, int)
    drone = np.zeros(n_src, int)
    tsum = np.zeros(n_src)
    t = pd.to_datetime(samples["time_utc"], utc=True).astype("int64").to_numpy() / 1e9 \
        if "time_utc" in samples.columns else np.zeros(len(samples))
    is_drone = ~is_ground_platform(samples)
    rows = np.arange(len(samples))
    every = np.arange(n_src)  # every candidate, named: each chunk once, so not kept in the operator's memo
    for lo in range(0, len(rows), ROW_CHUNK):
        r = rows[lo:lo + ROW_CHUNK]
        hit = op.matrix(r, every) >= threshold_unit
        total += hit.sum(axis=0)
        drone += hit[is_drone[r]].sum(axis=0)
        tsum += (hit * t[r][:, None]).sum(axis=0)
    src = op.sources[["source_id", "enterprise_id"]].copy()
    src["n_cover"], src["n_drone"] = total, drone
    src["t_mean"] = np.where(total > 0, tsum / np.maximum(total, 1), np.nan)
    return src


def assess_run(run_dir: str | Path, area=None, *, detection_rate_g_s: float = DETECTION_RATE_G_S,
               k_noise: float = DETECTION_K_NOISE, min_samples: int = MIN_COVER_SAMPLES,
               samples=None) -> RunAssessment:
    """The off-site checks a run folder (``ecopatrol demo`` layout: ``samples/``, ``evidence/``,
    ``plans/``) supports: one per enterprise covered, and one ``not assessable`` per firm a plan
    targeted that the samples did not cover. ``area`` (an Area or a folder) defaults to the one
    ``evidence.json`` names. ``samples``: the frame of ``samples/samples.parquet`` where the caller
    has just read it (the season's partitions), instead of reading the file again."""
    import geopandas as gpd

    from ecopatrol.core.weather import Wind
    from ecopatrol.processing._evidence_util import usable_mask

    run_dir = Path(run_dir)
    sp, ej = run_dir / "samples" / "samples.parquet", run_dir / "evidence" / "evidence.json"
    for p, what in ((sp, "`ecopatrol georef`"), (ej, "`ecopatrol hotspots`")):
        if not p.exists():
            raise InputFileNotFoundError(f"`{p}` not found: is `{run_dir}` a run folder (samples/, evidence/)? "
                                         f"{what} writes it")
    if not detection_rate_g_s > 0:
        raise InputError(f"detection rate {detection_rate_g_s!r} g/s: give a rate > 0")
    summary = read_summary(ej.parent) or {}
    area = _run_area(run_dir, area, summary, ej)
    samples = gpd.read_parquet(sp) if samples is None else samples
    samples = samples[usable_mask(samples) & np.isfinite(pd.to_numeric(samples.get("tvoc_ugm3"), errors="coerce"))]
    samples = samples.reset_index(drop=True)
    noise = _noise(summary, samples)
    wd = summary.get("wind_default") or {}
    wind = Wind(float(wd["from_deg"]), float(wd["speed_m_s"]), wd.get("stability")) if wd else area.default_wind()
    files = run_files(run_dir)
    ent = area.enterprises
    res = RunAssessment(run_dir=run_dir, run_key=run_key_of(files), area=area.name,
                        survey_start_utc=pd.Timestamp(summary["start_utc"]) if summary.get("start_utc") else None,
                        survey_end_utc=pd.Timestamp(summary["end_utc"]) if summary.get("end_utc") else None,
                        files=files, detection_rate_g_s=float(detection_rate_g_s), noise_ugm3=noise,
                        enterprises=ent)
    targeted = planned_targets(run_dir)
    if len(samples) == 0:
        cov = pd.DataFrame(columns=["enterprise_id", "n_cover", "n_drone", "t_mean", "n_cover_any"])
    else:
        src = coverage_counts(samples, area, crs=summary.get("metric_crs") or area.metric_crs, wind=wind,
                              threshold_unit=k_noise * noise / detection_rate_g_s)
        src["enterprise_id"] = src["enterprise_id"].astype(str)
        # a firm is covered as far as its least-covered stack is (its best-covered one: n_cover_any)
        cov = src.groupby("enterprise_id").agg(n_cover=("n_cover", "min"), n_drone=("n_drone", "min"),
                                               t_mean=("t_mean", "median"),
                                               n_cover_any=("n_cover", "max")).reset_index()
    ctx = {"pip_rate": _firm_probability(run_dir), "flux": _firm_flux(run_dir), "targeted": targeted,
           "end": res.survey_end_utc or pd.Timestamp.now(tz="UTC"), "min_samples": min_samples,
           "evidence": json.dumps(files, ensure_ascii=False),
           "how": (f"its plume at {detection_rate_g_s:g} g/s under the wind measured on each pass (else "
                   f"{wind.from_deg:.0f}°/{wind.speed_m_s:.1f} m/s) ≥ {k_noise:g} × noise ({noise:.1f} µg/m³)")}
    for r in cov.itertuples(index=False):
        check = _off_site_check(r, ctx)
        if check is not None:
            res.checks.append(check)
    for e, method in targeted.items():  # targets outside the candidate sources (not in the registry)
        if e not in set(cov["enterprise_id"]) and e in set(ent["enterprise_id"].astype(str)):
            res.checks.append({"enterprise_id": e, "time_utc": ctx["end"].to_pydatetime(), "kind": "off-site",
                               "method": method, "trigger": "routine plan", "result": "not assessable",
                               "reason": "targeted, but no usable samples", "evidence": ctx["evidence"],
                               "n_samples_covering": 0, "emit_probability": None, "rate_g_s": None})
    res.checks.sort(key=lambda c: c["enterprise_id"])
    log.info("ledger: %s — %d firms covered, %d targeted but not assessable", run_dir,
             sum(c["result"] != "not assessable" for c in res.checks),
             sum(c["result"] == "not assessable" for c in res.checks))
    return res


def _run_area(run_dir: Path, area, summary: dict, ej: Path):
    """The run's area: as given (an Area or a folder), else the one ``evidence.json`` names, else ``run_dir/area``."""
    from ecopatrol.core.area import Area, load_area

    if area is None:
        ap = summary.get("area_path")
        if not ap or not Path(ap).exists():
            for cand in (run_dir / "area",):
                if cand.exists():
                    ap = cand
                    break
            else:
                raise InputError(f"`{ej}` names no area folder that exists ({ap!r}): give --area")
        return load_area(ap)
    if not isinstance(area, Area):
        return load_area(area)
    return area


def _off_site_check(r, ctx: dict) -> dict | None:
    """The off-site check of one firm's coverage row ``r``: clean, suspicious or not assessable.

    ``None`` where the firm is covered by too few samples and no plan targeted it (nothing to
    say). ``ctx`` holds the run's emission probabilities and rates, curtain fluxes, planned
    targets, survey end, ``min_samples``, the evidence files and how coverage was judged.
    """
    pip, rate = ctx["pip_rate"]
    targeted, min_samples, how, end = ctx["targeted"], ctx["min_samples"], ctx["how"], ctx["end"]
    e = str(r.enterprise_id)
    n = int(r.n_cover)
    n_any = int(getattr(r, "n_cover_any", n))
    p = pip.get(e, 0.0) or 0.0
    if n < min_samples <= n_any and p >= SUSPICIOUS_PIP:  # some stacks covered, and seen emitting
        return _seen_partly_covered(r, ctx, e, n_any, p)
    if n < min_samples and e not in targeted:
        return None
    method = "drone curtain" if int(r.n_drone) >= min_samples else "van pass"
    when = pd.Timestamp(round(float(r.t_mean)), unit="s", tz="UTC") if np.isfinite(r.t_mean) else end
    check = {"enterprise_id": e, "time_utc": when.to_pydatetime(), "kind": "off-site",
             "trigger": "routine plan", "evidence": ctx["evidence"], "n_samples_covering": n,
             "emit_probability": pip.get(e), "rate_g_s": rate.get(e)}
    if n < min_samples:
        method = targeted[e]
        check.update(method=method, result="not assessable",
                     reason=f"targeted by the {'drone' if method == 'drone curtain' else 'van'} plan, but "
                            f"{how} reached {n} usable sample(s), {min_samples} needed",
                     time_utc=end.to_pydatetime(), emit_probability=None, rate_g_s=None)
        return check
    fz = ctx["flux"].get(e)
    why = []
    if p >= SUSPICIOUS_PIP:
        why.append(f"emits with probability {p:.2f} (sparse attribution)"
                   + (f" at {rate[e]:.2g} g/s" if rate.get(e) else ""))
    if fz is not None and fz[1] >= SUSPICIOUS_FLUX_Z:
        why.append(f"curtain {fz[2]}: {fz[0]:.2g} g/s through the plane (z = {fz[1]:.1f})")
    cover = f"covered: {how} on {n} usable samples"
    if why:
        check.update(method=method, result="suspicious", reason="; ".join(why) + f"; {cover}")
    else:
        check.update(method=method, result="clean",
                     reason=f"nothing attributed (emission probability {p:.2f}); {cover}")
    if e not in targeted:
        check["reason"] += " (not a planned target: covered in passing)"
    return check


def _seen_partly_covered(r, ctx: dict, e: str, n_any: int, p: float) -> dict:
    """The ``suspicious`` check of a firm seen emitting whose stacks were not all covered."""
    rate = ctx["pip_rate"][1]
    when = pd.Timestamp(round(float(r.t_mean)), unit="s", tz="UTC") if np.isfinite(r.t_mean) else ctx["end"]
    reason = (f"emits with probability {p:.2f} (sparse attribution)" + (f" at {rate[e]:.2g} g/s" if rate.get(e) else "")
              + f"; covered in part: {ctx['how']} on {n_any} usable samples for its best-covered stack, "
              f"{int(r.n_cover)} for its least-covered ({ctx['min_samples']} needed)")
    if e not in ctx["targeted"]:
        reason += " (not a planned target: covered in passing)"
    return {"enterprise_id": e, "time_utc": when.to_pydatetime(), "kind": "off-site",
            "method": "drone curtain" if int(r.n_drone) >= ctx["min_samples"] else "van pass",
            "trigger": "routine plan", "result": "suspicious", "reason": reason, "evidence": ctx["evidence"],
            "n_samples_covering": n_any, "emit_probability": p, "rate_g_s": rate.get(e)}


def _firm_probability(run_dir: Path) -> tuple[dict, dict]:
    p = run_dir / "evidence" / "rates.csv"
    if not p.exists() or not p.stat().st_size:
        return {}, {}
    rt = pd.read_csv(p, dtype={"enterprise_id": str})
    if not len(rt) or "enterprise_pip" not in rt.columns:
        return {}, {}
    pip = pd.to_numeric(rt["enterprise_pip"], errors="coerce").fillna(0.0).groupby(rt["enterprise_id"]).max()
    sr = pd.to_numeric(rt.get("signal_rate_g_s"), errors="coerce")
    rate = sr.where(sr > 0).groupby(rt["enterprise_id"]).sum(min_count=1).dropna()
    return {k: float(v) for k, v in pip.items()}, {k: float(v) for k, v in rate.items()}


def _firm_flux(run_dir: Path) -> dict:
    p = run_dir / "evidence" / "flux.csv"
    if not p.exists() or not p.stat().st_size:
        return {}
    fl = pd.read_csv(p, dtype={"target_id": str})
    out = {}
    for r in fl.dropna(subset=["target_id"]).itertuples(index=False):
        sd = float(getattr(r, "flux_sd_g_s", np.nan))
        z = float(r.flux_g_s) / sd if sd > 0 else 0.0
        match = getattr(r, "target_match", 1.0)
        match = 1.0 if match is None or not np.isfinite(match) else float(match)
        if match < MIN_TARGET_MATCH:
            z = 0.0
        if str(r.target_id) not in out or z > out[str(r.target_id)][1]:
            out[str(r.target_id)] = (float(r.flux_g_s), z, str(r.sortie_id))
    return out
