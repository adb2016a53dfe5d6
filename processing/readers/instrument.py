"""The crew's instrument record (``<name>_instrument.toml``) and the puff test it points to.

A real crew measures the inlet lag with a puff (release) test: a short release of test gas
at the inlet, the analyser's event key pressed as it is released (one row of the
analyser's fast record gets the ``marker_status``, e.g. ``MARK``), and the release time
noted on a GPS clock. The record::

    [instrument]
    serial = "PID-0042"
    timezone = "Asia/Shanghai"      # zone of the analyser's naive local times
    response_s = 2.4                # first-order response time constant (T90 / 2.3), s
    lag_s = 7.0                     # optional: a lag measured otherwise (wins over the puff test)
    clock_offset_s = 66.3           # optional: analyser clock − UTC, if checked otherwise

    [puff_test]
    file = "puff_test.csv"          # the analyser's record of the test (beside this file)
    release_utc = "2026-05-12T01:10:00.0Z"   # optional: GPS time of the release
    marker_status = "MARK"

From the puff record: **lag** = first rise of the concentration − marker (both on the
analyser's clock, so the clock offset cancels); **clock offset at the test** = marker −
GPS release time (when ``release_utc`` is given). Precision ~0.1–0.2 s (10 Hz record,
reaction time); the clock then drifts by its ppm rate (tens of ppm: ~0.1 s an hour).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.errors import FormatError, InputError
from .._time import to_seconds

INSTRUMENT_SUFFIX = "_instrument.toml"


@dataclass
class PuffTest:
    """What a puff test measured; times as Unix seconds (``marker_s`` on the analyser clock)."""

    file: str
    lag_s: float
    marker_s: float
    onset_s: float
    clock_offset_s: float | None  # analyser clock − UTC at the test, when the release time is known
    release_utc_s: float | None
    peak_enhancement: float


@dataclass
class InstrumentRecord:
    """A parsed ``<name>_instrument.toml``: declared values and the puff test measurement."""

    path: Path
    serial: str | None = None
    timezone: str | None = None
    response_s: float | None = None
    lag_s: float | None = None
    clock_offset_s: float | None = None
    puff: PuffTest | None = None
    raw: dict = field(default_factory=dict)

    @property
    def lag_source(self) -> str | None:
        if "lag_s" in self.raw.get("instrument", {}):
            return f"declared in `{self.path.name}`"
        if self.puff is not None:
            return f"puff test `{self.puff.file}` (first rise − marker)"
        return None


def find_instrument_file(sensor_path) -> Path | None:
    """The instrument record beside a sensor file: ``<stem>_instrument.toml`` (``S01_voc.csv`` →
    ``S01_instrument.toml`` or ``S01_voc_instrument.toml``), else ``instrument.toml``."""
    p = Path(sensor_path)
    stem = p.stem
    cands = [p.with_name(stem + INSTRUMENT_SUFFIX)]
    for suffix in ("_voc", "_analyser", "_sensor"):
        if stem.endswith(suffix):
            cands.insert(0, p.with_name(stem[: -len(suffix)] + INSTRUMENT_SUFFIX))
    cands.append(p.with_name("instrument.toml"))
    return next((c for c in cands if c.is_file()), None)


def load_instrument(path) -> InstrumentRecord:
    """Read an instrument record and, when it names one, measure its puff test."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"instrument file `{p}` does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"`{p.name}`: not valid TOML ({exc})") from exc
    inst = raw.get("instrument", {})

    def num(key):
        v = inst.get(key)
        if v is None:
            return None
        try:
            return float(v)
        except (TypeError, ValueError) as exc:
            raise InputError(f"`{p.name}` [instrument] `{key}` must be a number of seconds, got {v!r}") from exc

    rec = InstrumentRecord(p, inst.get("serial"), inst.get("timezone"), num("response_s"), num("lag_s"),
                           num("clock_offset_s"), raw=raw)
    pt = raw.get("puff_test")
    if pt:
        if "file" not in pt:
            raise InputError(f"`{p.name}` [puff_test] needs `file` (the analyser's record of the test)")
        rec.puff = measure_puff_test(p.parent / pt["file"], marker_status=pt.get("marker_status", "MARK"),
                                     release_utc=pt.get("release_utc"), tz=rec.timezone)
        if rec.lag_s is None:
            rec.lag_s = rec.puff.lag_s
        if rec.clock_offset_s is None and rec.puff.clock_offset_s is not None:
            rec.clock_offset_s = rec.puff.clock_offset_s
    return rec


def measure_puff_test(path, *, marker_status: str = "MARK", release_utc=None, tz: str | None = None) -> PuffTest:
    """Lag (and clock offset) from the analyser's record of a puff test.

    The onset is where the concentration first rises through 10 % of the puff's peak
    enhancement above the pre-marker baseline (linear interpolation between rows); the lag
    is onset − marker. Raises :class:`InputError` naming the file when the record has no
    marker or no clear puff after it.
    """
    from . import read_any

    p = Path(path)
    r = read_any(p, tz=tz)
    f = r.frame
    if "status" not in f or not r.species:
        raise InputError(f"`{p.name}`: a puff-test record needs a Status column and a concentration column")
    t = to_seconds(f["time_utc"])
    mk = np.flatnonzero(f["status"].astype(str).str.strip().str.upper().to_numpy() == marker_status.upper())
    if len(mk) == 0:
        raise InputError(f"`{p.name}`: no row with Status `{marker_status}` (the release marker); "
                         "mark the release on the analyser or declare `lag_s` in the instrument file")
    t_m = float(t[mk[0]])
    c = f[r.species[0]].to_numpy(float)
    before = np.isfinite(c) & (t < t_m)
    after = np.flatnonzero(np.isfinite(c) & (t >= t_m))
    if before.sum() < 5 or len(after) < 5:
        raise InputError(f"`{p.name}`: the record must start before the marker and continue after it")
    base = float(np.median(c[before]))
    noise = float(1.4826 * np.median(np.abs(c[before] - base))) or 1e-9
    peak = float(np.nanmax(c[after]) - base)
    if peak < 20 * noise:
        raise InputError(f"`{p.name}`: no clear puff after the marker (peak {peak:.1f} vs noise {noise:.1f}); "
                         "repeat the test with more gas")
    thr = base + 0.1 * peak
    k = after[np.argmax(c[after] > thr)]
    j = k - 1
    onset = float(t[k]) if j < 0 or c[j] >= thr else float(t[j] + (thr - c[j]) / (c[k] - c[j]) * (t[k] - t[j]))
    rel_s = None
    off = None
    if release_utc is not None:
        rel_s = float(pd.Timestamp(release_utc).tz_convert("UTC").value / 1e9) if pd.Timestamp(release_utc).tzinfo \
            else None
        if rel_s is None:
            raise FormatError(f"`{p.name}`: `release_utc` {release_utc!r} needs a zone (end it with Z)")
        off = t_m - rel_s
    return PuffTest(p.name, round(onset - t_m, 2), t_m, onset, None if off is None else round(off, 2), rel_s,
                    round(peak, 1))
