"""Georeferencing: tracks + analyser files → samples (CONTRACTS.md), quarantine and provenance.

For each sensor file the clock offset and inlet lag are declared or estimated
(:mod:`ecopatrol.processing.align`); every sample is placed at the track position of the
moment its air entered the inlet (``T − clock_offset_s − lag_s``), interpolated in a local
metric CRS and never across a GPS gap longer than ``max_gap_s``. ``time_utc`` of a sample
is that inlet time. The track itself (merged GPS sources, DEM, wind) is built by
:mod:`ecopatrol.processing.georef_track`. Height above ground comes from a DEM; speed from
the track; pass numbers from gaps, stops and turns; QA flags from :mod:`ecopatrol.processing.qc`. Every
sensor row ends up in the samples or in the quarantine with a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.artefacts.samples import check_platform_kind
from ecopatrol.core.io import sha256_file
from ecopatrol.core.errors import DelayError, InputError
from . import qc
from ._time import iso_utc, to_seconds, unix_to_utc
from .align import ClockSolution, TrackArrays, combined_signal, estimate_delay, interpolate_track, solve_clock
from .readers import ReadResult, read_any
from .readers._common import empty_quarantine, quarantine_rows
from .samples import to_samples_frame
from .georef_track import _build_track, _interp_wind, _track_arrays, dem_sampler  # noqa: F401 (dem_sampler re-exported)
from .field_files import SENSOR_SUFFIXES, TRACK_SUFFIXES_BY_PREFERENCE, inspect_file, pair_field_files  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)

MAX_LAG_S = 60.0  # search range of an inlet lag when the clock is known
TRACK_FORMAT_PLATFORM = {"tlog": "drone", "dataflash": "drone", "dataflash-text": "drone", "ulog": "drone",
                         "dji-airdata-csv": "drone", "gpx": "van", "nmea": "van", "picarro-dat": "van"}


@dataclass
class GeorefResult:
    """Georeferenced ``samples`` (GeoDataFrame, EPSG:4326), ``quarantine`` and ``provenance``."""

    samples: object
    quarantine: pd.DataFrame
    provenance: list[dict]
    clocks: dict[str, ClockSolution] = field(default_factory=dict)
    metric_crs: object = None


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of an input file (recorded in the provenance)."""
    return sha256_file(path)


def _value(v, name: str) -> float | str:
    if v is None or (isinstance(v, str) and v.strip().lower() == "auto"):
        return "auto"
    try:
        return float(v)
    except (TypeError, ValueError) as exc:
        raise InputError(f"`{name}` must be 'auto' or a number of seconds, got {v!r}") from exc


@dataclass
class _Run:
    """What every sensor file of one :func:`georeference` call is placed against: the track and the options."""

    track_paths: list[Path]
    sensor_paths: list[Path]
    reads: dict[Path, ReadResult]
    records: dict
    track: TrackArrays
    elevation: Callable | None
    lag: float | str
    clock_offset: float | str
    search_s: tuple[float, float]
    response_s: float
    max_gap_s: float
    platform_id: str | None
    mission_id: str | None
    platform_kind: str | None


def georeference(
    tracks: Sequence,
    sensors: Sequence,
    *,
    mapping=None,
    lag: float | str = "auto",
    clock_offset: float | str = "auto",
    dem=None,
    platform_id: str | None = None,
    mission_id: str | None = None,
    platform_kind: str | None = None,
    max_gap_s: float = 5.0,
    tz: str | None = None,
    search_s: tuple[float, float] = (-120.0, 120.0),
    response_s: float = 0.0,
    instrument="auto",
) -> GeorefResult:
    """Georeference the sensor files against the track files.

    Parameters
    ----------
    tracks, sensors
        Paths. A file that is both (Picarro ``.dat`` with GPS) may be given as a sensor only.
    mapping
        TOML path or dict for CSVs that are neither DJI nor the analyser export.
    lag, clock_offset
        ``"auto"`` (estimated) or seconds; see :mod:`ecopatrol.processing.align` for what is
        estimable. A mapping's ``[instrument]`` values count as declared.
    dem
        ``elevation_m(lon, lat)`` callable, an Area, or a GeoTIFF path (metres AMSL).
    platform_kind
        ``drone``, ``van`` or ``fixed`` (the samples' ``platform_kind``). Default: the mapping's
        ``[position] platform_kind``, else the track's format (flight logs: drone; GPX, NMEA,
        Picarro: van); a track whose format cannot tell (a mapped CSV) is refused without it.
    max_gap_s
        No interpolation across GPS gaps longer than this; such samples are quarantined.
    response_s
        The analyser's first-order response time constant (datasheet T90 / 2.3). A slow
        response delays the centroid of every plume by about this much, so the estimated
        (effective) delay is reduced by it before the split into clock offset and lag.
        A mapping's ``[instrument] response_s`` counts too.
    instrument
        The crew's instrument record (:mod:`ecopatrol.processing.readers.instrument`):
        ``"auto"`` (default) finds ``<name>_instrument.toml`` beside each sensor file
        (``S01_voc.csv`` → ``S01_instrument.toml``); a path or an ``InstrumentRecord`` applies
        to every sensor; ``None`` ignores such files. Its puff test gives the lag and, with
        the GPS time of the release, the clock offset; its ``response_s`` and ``timezone``
        are used too. Explicit ``lag``/``clock_offset``/``response_s``/``tz`` win over it.
    """
    lag_v, off_v = _value(lag, "lag"), _value(clock_offset, "clock_offset")
    track_paths = [Path(p) for p in tracks]
    sensor_paths = [Path(p) for p in sensors]
    if not sensor_paths:
        raise InputError("no sensor files: pass at least one analyser file (--sensor)")
    reads, records = _read_inputs(track_paths, sensor_paths, mapping=mapping, tz=tz, instrument=instrument)
    sources = [(p, reads[p].frame) for p in track_paths]
    sources += [(p, reads[p].frame) for p in sensor_paths if reads[p].kind == "track+sensor" and p not in track_paths]
    if not sources:
        raise InputError("no track: pass a GPS track (--track) or a sensor file that carries positions")
    track_df, crs, drops = _build_track(sources, max_gap_s)
    run = _Run(track_paths, sensor_paths, reads, records, _track_arrays(track_df, crs), dem_sampler(dem),
               lag_v, off_v, search_s, response_s, max_gap_s, platform_id, mission_id, platform_kind)

    quarantines, drop_count = _read_quarantine(reads, drops)
    provenance = _track_provenance(run, drop_count)
    parts, clocks = [], {}
    for p in sensor_paths:
        s, prov, sol, unplaced = _georeference_sensor(run, p)
        clocks[p.name] = sol
        if unplaced is not None:
            quarantines.append(unplaced)
        parts.append(s)
        provenance.append(prov)

    all_species = sorted({c for part in parts for c in part.columns if c.endswith(qc_species_suffixes())})
    samples_df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if len(samples_df):
        samples_df = samples_df.sort_values(["platform_id", "mission_id", "time_utc"], kind="stable")
    samples = to_samples_frame(samples_df if len(samples_df) else pd.DataFrame({"time_utc": []}), species=all_species)
    quarantine = pd.concat(quarantines, ignore_index=True) if quarantines else empty_quarantine()
    return GeorefResult(samples, quarantine, provenance, clocks, crs)


def _read_inputs(track_paths: list[Path], sensor_paths: list[Path], *, mapping, tz: str | None,
                 instrument) -> tuple[dict[Path, ReadResult], dict]:
    """Read every track and sensor file (refusing a file given in the wrong role) and find the instrument records."""
    reads: dict[Path, ReadResult] = {}
    for p in track_paths:
        r = read_any(p, mapping=mapping, tz=tz)
        if "track" not in r.kind:
            raise InputError(f"`{p.name}` ({r.format}) is a sensor file without positions: pass it with --sensor")
        reads[p] = r
    records = {p: _instrument_record(p, instrument) for p in sensor_paths}
    for p in sensor_paths:
        rec = records[p]
        r = reads.get(p) or read_any(p, mapping=mapping, tz=tz or (rec.timezone if rec else None))
        if "sensor" not in r.kind:
            raise InputError(f"`{p.name}` ({r.format}) is a track without concentrations: pass it with --track")
        reads[p] = r
    return reads, records


def _read_quarantine(reads: dict[Path, ReadResult], drops: list) -> tuple[list[pd.DataFrame], dict]:
    """The readers' quarantined rows plus the superseded track points, and how many of those per file."""
    quarantines = [r.quarantine for r in reads.values() if len(r.quarantine)]
    for path, rows, reason in drops:  # superseded track points (record numbers are 1-based)
        quarantines.append(quarantine_rows(path, rows, reason))
    drop_count = {}
    for path, rows, _ in drops:
        drop_count[path] = drop_count.get(path, 0) + len(rows)
    return quarantines, drop_count


def _track_provenance(run: _Run, drop_count: dict) -> list[dict]:
    """Provenance rows of the track files (those not also given as sensors): GPS time, offset 0."""
    out = []
    for p in run.track_paths:
        r = run.reads[p]
        nq = len(r.quarantine) + drop_count.get(p, 0)
        if p in run.sensor_paths:
            continue
        out.append({"file": p.name, "role": "track", "format": r.format, "sha256": sha256_of(p),
                    "rows_read": r.rows_read, "rows_kept": r.rows_read - nq, "rows_quarantined": nq,
                    "clock_offset_s": 0.0, "clock_offset_confidence": 1.0,
                    "clock_offset_method": r.meta.get("time_source", "GPS time"),
                    "lag_s": None, "lag_confidence": None,
                    "start_utc": iso_utc(r.frame["time_utc"].min()), "end_utc": iso_utc(r.frame["time_utc"].max())})
    return out


def _georeference_sensor(run: _Run, p: Path):
    """One sensor file: its clock, its samples, its provenance row, and its unplaced rows.

    Returns ``(samples, provenance, clock, quarantine or None)``; raises :class:`DelayError`
    where the delay cannot be trusted (nothing is georeferenced then).
    """
    r = run.reads[p]
    f = r.frame
    t_inst = to_seconds(f["time_utc"])
    sol, from_rec = _sensor_clock(run, p, t_inst)
    t_air = t_inst - sol.clock_offset_s - sol.lag_s
    it = interpolate_track(run.track, t_air, max_gap_s=run.max_gap_s)
    ok = it.ok
    bad = ~ok
    unplaced = None
    if bad.any():
        raw = f.loc[bad].copy()
        raw["time_utc"] = raw["time_utc"].astype(str)
        rown = f["source_row"].to_numpy()[bad] if "source_row" in f else np.flatnonzero(bad) + 1
        unplaced = quarantine_rows(p, rown, it.reason[bad], raw.drop(columns=["source_row"], errors="ignore"))
    s, kind, kind_method = _placed_samples(run, p, t_inst, t_air, it, sol)
    nq = int(bad.sum()) + len(r.quarantine)
    prov = _sensor_provenance(run, p, s, sol, from_rec, int(ok.sum()), nq, kind, kind_method)
    if int(ok.sum()) + nq != r.rows_read:
        raise AssertionError(f"row accounting broken for {p.name}: {int(ok.sum())} + {nq} != {r.rows_read}")
    log.info("georeferenced %s: %d of %d rows kept, %d quarantined; clock offset %.1f s (conf %.2f), "
             "lag %.1f s (conf %.2f)", p.name, int(ok.sum()), r.rows_read, nq, sol.clock_offset_s,
             sol.clock_offset_confidence, sol.lag_s, sol.lag_confidence)
    return s, prov, sol, unplaced


def _declared_delays(run: _Run, p: Path) -> tuple[float | str, float | str, bool, bool]:
    """The lag and clock offset declared for ``p`` (call, mapping, instrument record) or ``"auto"``.

    Explicit values win over the mapping's ``[instrument]``, which wins over the crew's record;
    the two flags say which came from the record.
    """
    r, rec = run.reads[p], run.records[p]
    lag_p = float(r.meta["lag_s"]) if "lag_s" in r.meta and run.lag == "auto" else run.lag
    off_p = float(r.meta["clock_offset_s"]) if "clock_offset_s" in r.meta and run.clock_offset == "auto" \
        else run.clock_offset
    lag_from_rec = off_from_rec = False
    if rec is not None:
        if lag_p == "auto" and rec.lag_s is not None:
            lag_p, lag_from_rec = float(rec.lag_s), True
        if off_p == "auto" and rec.clock_offset_s is not None:
            off_p, off_from_rec = float(rec.clock_offset_s), True
    return lag_p, off_p, lag_from_rec, off_from_rec


def _sensor_clock(run: _Run, p: Path, t_inst: np.ndarray) -> tuple[ClockSolution, tuple[bool, bool]]:
    """Clock offset and inlet lag of sensor ``p``: declared, from its instrument record, or estimated.

    The delay is searched where it can be (a known offset bounds the lag to a minute, or three
    times the analyser's documented lag); the analyser's response time is taken off the
    estimate. Returns the solution and whether (lag, offset) came from the instrument record.
    """
    r, rec = run.reads[p], run.records[p]
    f, species = r.frame, r.species
    # a file that is its own track shares one clock with its positions (offset 0 by
    # construction) — unless a separate track is given, whose positions then win
    same_clock = r.kind == "track+sensor" and not run.track_paths
    lag_p, off_p, lag_from_rec, off_from_rec = _declared_delays(run, p)
    default_lag = r.meta.get("default_lag_s")
    known_off = 0.0 if same_clock and off_p == "auto" else (off_p if off_p != "auto" else None)
    if known_off is not None:
        # an analyser with a documented lag of a few seconds cannot lag a minute
        max_lag = MAX_LAG_S if default_lag is None else min(MAX_LAG_S, max(15.0, 3.0 * float(default_lag)))
        rng = (known_off, known_off + max_lag)
    elif lag_p != "auto":
        rng = (lag_p + run.search_s[0], lag_p + run.search_s[1])
    else:
        rng = run.search_s
    resp = float(r.meta.get("response_s", run.response_s) or 0.0)
    if not resp and rec is not None and rec.response_s:
        resp = float(rec.response_s)

    def _estimate(rng=rng):
        est = estimate_delay(run.track, t_inst, combined_signal(t_inst, f, species),
                             search_s=(rng[0] + resp, rng[1] + resp))
        if resp and est.ok:  # effective delay → transport delay
            est.delay_s = round(est.delay_s - resp, 2)
            est.method += f"; minus declared response time {resp:g} s"
        return est

    sol = solve_clock(lag=lag_p, clock_offset=off_p, same_clock=same_clock, estimate=_estimate,
                      default_lag_s=default_lag,
                      default_lag_source=r.meta.get("default_lag_source", "instrument default"))
    if sol.refused:
        raise DelayError(
            f"`{p.name}`: {sol.refused}. Nothing was georeferenced: positions placed with an untrusted "
            f"delay put plumes tens to hundreds of metres from where they were met. Declare it: "
            + ("--lag SECONDS (the inlet lag, from a puff test or the analyser's manual)"
               if off_p != "auto" or same_clock else
               "--clock-offset SECONDS (analyser clock − UTC; 0 if it was set from GPS) and --lag SECONDS")
            + f", or record a puff test in `{p.stem.removesuffix('_voc')}_instrument.toml` beside it")
    if sol.applied == "instrument default":
        log.warning("%s: inlet lag not estimated from the data (%s); using the %s of %g s",
                    p.name, sol.delay.method if sol.delay is not None else "no estimate",
                    r.meta.get("default_lag_source", "instrument default"), sol.lag_s)
    if lag_from_rec:
        sol.lag_method = rec.lag_source
    if off_from_rec:
        src = (f"declared in `{rec.path.name}`" if "clock_offset_s" in rec.raw.get("instrument", {})
               else f"puff test `{rec.puff.file}`: marker − GPS release time")
        sol.clock_offset_method = src
        # the data's own estimate stays in the provenance as a cross-check
        lag_rng = (sol.lag_s + sol.clock_offset_s - 30.0, sol.lag_s + sol.clock_offset_s + 30.0)
        sol.delay = _estimate(rng=lag_rng)
    return sol, (lag_from_rec, off_from_rec)


def _placed_samples(run: _Run, p: Path, t_inst: np.ndarray, t_air: np.ndarray, it, sol: ClockSolution):
    """The samples of sensor ``p`` that the track places (``it.ok``): position, height, wind, QA, passes.

    ``t_air`` is each row's inlet time (UTC seconds). Returns ``(samples, platform_kind, how the
    kind was decided)``.
    """
    r, track = run.reads[p], run.track
    f, species = r.frame, r.species
    sel = np.flatnonzero(it.ok)
    s = pd.DataFrame({"time_utc": unix_to_utc(t_air[sel])})
    s["lon"] = it.lon[sel]
    s["lat"] = it.lat[sel]
    s["alt_amsl_m"] = it.alt_m[sel]
    if run.elevation is not None:
        s["alt_agl_m"] = s["alt_amsl_m"].to_numpy() - np.asarray(run.elevation(s["lon"].to_numpy(),
                                                                               s["lat"].to_numpy()))
    elif "height_above_takeoff_m" in track.extra:
        h = track.extra["height_above_takeoff_m"]
        s["alt_agl_m"] = h[it.i0[sel]] + it.frac[sel] * (h[np.minimum(it.i0[sel] + 1, len(h) - 1)] - h[it.i0[sel]])
    else:
        s["alt_agl_m"] = np.nan
    s["speed_m_s"] = it.speed_m_s[sel]
    for c in species:
        s[c] = f[c].to_numpy(float)[sel]
    if "status" in f:
        s["status"] = f["status"].to_numpy()[sel]
    if {"wind_from_deg", "wind_speed_m_s"} <= set(f.columns):
        t_true = t_inst - sol.clock_offset_s  # the anemometer has no inlet lag
        s["wind_from_deg"], s["wind_speed_m_s"] = _interp_wind(
            t_true, f["wind_from_deg"].to_numpy(float), f["wind_speed_m_s"].to_numpy(float), t_air[sel])
    elif {"wind_from_deg", "wind_speed_m_s"} <= set(track.extra):
        s["wind_from_deg"], s["wind_speed_m_s"] = _interp_wind(
            track.t_s, track.extra["wind_from_deg"], track.extra["wind_speed_m_s"], t_air[sel])
    i0, i1 = it.i0[sel], np.minimum(it.i0[sel] + 1, len(track) - 1)
    fix = np.minimum(track.extra["gps_fix"][i0], track.extra["gps_fix"][i1]) if "gps_fix" in track.extra else None
    hd = np.maximum(track.extra["hdop"][i0], track.extra["hdop"][i1]) if "hdop" in track.extra else None
    s["qa_flags"] = qc.qa_flags(s, species, gps_fix=fix, hdop=hd)
    first_track = run.reads[run.track_paths[0]] if run.track_paths else r
    kind, kind_method = _platform_kind(run.platform_kind, first_track)
    s["platform_id"] = run.platform_id or TRACK_FORMAT_PLATFORM.get(first_track.format, first_track.path.stem)
    s["platform_kind"] = kind
    # an aircraft's height cuts passes at level changes; a van's GNSS height drifts by metres
    airborne = kind == "drone"
    s["pass_id"] = qc.segment_passes(t_air[sel], it.vx_m_s[sel], it.vy_m_s[sel], x_m=it.x[sel], y_m=it.y[sel],
                                      z_m=it.alt_m[sel] if airborne else None, max_gap_s=run.max_gap_s)
    s["mission_id"] = run.mission_id or (run.track_paths[0].stem if run.track_paths else p.stem)
    return s, kind, kind_method


def _sensor_provenance(run: _Run, p: Path, s: pd.DataFrame, sol: ClockSolution, from_rec: tuple[bool, bool],
                       n_kept: int, nq: int, kind: str, kind_method: str) -> dict:
    """Provenance row of one sensor file: rows, clock offset, lag, how each was got, its cross-check."""
    r, rec = run.reads[p], run.records[p]
    lag_from_rec, off_from_rec = from_rec
    est = sol.delay
    return {
        "file": p.name, "role": "sensor", "format": r.format, "sha256": sha256_of(p),
        "rows_read": r.rows_read, "rows_kept": n_kept, "rows_quarantined": nq,
        "clock_offset_s": round(sol.clock_offset_s, 3), "clock_offset_confidence": sol.clock_offset_confidence,
        "clock_offset_method": sol.clock_offset_method,
        "lag_s": round(sol.lag_s, 3), "lag_confidence": sol.lag_confidence, "lag_method": sol.lag_method,
        "total_delay_s": round(sol.total_delay_s, 3),
        "delay_applied": ("puff test" if lag_from_rec or off_from_rec else sol.applied),
        "total_delay_confidence": (est.confidence if est is not None and not (lag_from_rec and off_from_rec)
                                   else min(sol.lag_confidence, sol.clock_offset_confidence)),
        "total_delay_estimated_s": est.delay_s if est is not None and est.ok else None,
        "total_delay_estimated_confidence": est.confidence if est is not None else None,
        "instrument_file": rec.path.name if rec is not None else None,
        "platform_kind": kind, "platform_kind_method": kind_method,
        "species": r.species,
        "start_utc": iso_utc(s["time_utc"].min()) if len(s) else None,
        "end_utc": iso_utc(s["time_utc"].max()) if len(s) else None,
    }


def _platform_kind(declared, track: ReadResult) -> tuple[str, str]:
    """What carried the inlet, and how that is known: declared, the mapping, the track's format."""
    if declared:
        return check_platform_kind(declared, what="--platform-kind"), "declared"
    if track.meta.get("platform_kind"):
        return check_platform_kind(track.meta["platform_kind"], what=f"`{track.path.name}` mapping platform_kind"), \
            "declared in the mapping"
    if track.format in TRACK_FORMAT_PLATFORM:
        return TRACK_FORMAT_PLATFORM[track.format], f"the track's format ({track.format})"
    raise InputError(f"`{track.path.name}` ({track.format}): its format does not tell whether a drone, a van or a "
                     "fixed station carried the inlet (this decides the receptor height): pass --platform-kind "
                     "drone|van|fixed, or set `platform_kind` under [position] in the mapping")


def _instrument_record(sensor: Path, instrument):
    from .readers.instrument import InstrumentRecord, find_instrument_file, load_instrument

    if instrument is None or instrument is False:
        return None
    if isinstance(instrument, InstrumentRecord):
        return instrument
    if isinstance(instrument, str) and instrument == "auto":
        found = find_instrument_file(sensor)
        return load_instrument(found) if found is not None else None
    return load_instrument(instrument)


def qc_species_suffixes() -> tuple[str, ...]:
    from .samples import SPECIES_SUFFIXES

    return SPECIES_SUFFIXES
