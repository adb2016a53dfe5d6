"""Simulated online monitoring: the data loggers of the monitored firms write HJ 212 packets.

For every monitor of the area's ``monitors.csv`` (:mod:`ecopatrol.core.monitors`), over the
survey's day (:data:`HOURS_BEFORE` before the survey's start to :data:`HOURS_AFTER` after it),
:func:`simulate_monitors` writes ``monitor/monitors.h212`` — one HJ 212-2017 packet a line, as a
platform logs them — whose truth agrees with the hidden emitters:

- a stack reports minute (CN 2051) and hourly (CN 2061) averages of NMHC (``a24088``), flue-gas
  flow (``a00000``) and O2 (``a19001``). A firm that is not a hidden emitter runs its treatment:
  NMHC a few mg/m3. A **hidden emitter** emits its true rate ``rate_g_s`` through the stack:
  NMHC = rate / flow (mg/m3 = 1000 × g/s ÷ m3/s), its treatment switched off — and its analyser
  either reports that (``honest``) or is **flatlined** at a plausible low value to hide it;
- a meter box reports real-time (CN 2011, ST 80, as electricity meters do) active power of its
  production meter and its treatment meter (``CODE-Pt``, kW); production runs 08:00–18:00 local;
  an emitter's treatment meter draws almost nothing while production runs;
- the real defects: a gap (a logger silent for 40–90 min), a maintenance (M) flag at night, a few
  corrupt packets (a wrong CRC, a truncated line), kept in the file as devices send them.

The truth (``truth.json`` ``monitors``) says, per monitored emitter, what its logger did.
``missions`` does not import ``processing``: the frame is written here (length, CRC), and the
tests check that the codec decodes every good line.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

HOURS_BEFORE, HOURS_AFTER = 3.0, 5.0
LOCAL_OFFSET_H = 8  # DataTime is local time (Asia/Shanghai, UTC+8)
PRODUCTION_HOURS_LOCAL = (8, 18)
TREATED_NMHC_MG_M3 = (3.0, 15.0)
FLATLINE_SHARE = 0.5  # of the monitored emitters whose analyser hides the emission
CORRUPT_SHARE = 0.003


def _crc_table() -> list[int]:
    table = []
    for b in range(256):
        crc = b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc16_hj212(data: bytes) -> int:
    """The HJ 212 CRC of ``data`` (not CRC-16/MODBUS: see the data README): start 0xFFFF, per byte
    ``crc = (crc >> 8) ^ byte`` then eight shift-and-xor-0xA001 steps — here by table."""
    crc = 0xFFFF
    for b in data:
        crc = _TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


def frame(segment: str) -> str:
    data = segment.encode("ascii")
    return f"##{len(data):04d}{segment}{crc16_hj212(data):04X}"


def _packet(qn: datetime, st: str, cn: str, mn: str, data_time: datetime, items: list[str]) -> str:
    local = data_time + timedelta(hours=LOCAL_OFFSET_H)
    q = (qn + timedelta(hours=LOCAL_OFFSET_H)).strftime("%Y%m%d%H%M%S") + "000"
    cp = f"DataTime={local:%Y%m%d%H%M%S};" + ";".join(items)
    return frame(f"QN={q};ST={st};CN={cn};PW=123456;MN={mn};Flag=4;CP=&&{cp}&&")


def _local_hour(t: datetime) -> float:
    return ((t.hour + t.minute / 60 + LOCAL_OFFSET_H) % 24)


def simulate_monitors(area, emitters: pd.DataFrame, out_dir: str | Path, *, start_utc: datetime, seed: int,
                      truth: dict) -> list[Path]:
    """Write ``out_dir/monitor/monitors.h212`` for the area's monitors (none: nothing written) and add
    ``truth["monitors"]``. Returns the files written."""
    from ecopatrol.core.monitors import monitors_for_area

    try:
        mons = monitors_for_area(area, raise_on_error=False).table
    except Exception:  # an area without a folder (a test's FakeArea) has no monitors
        return []
    if mons.empty:
        return []
    rng = np.random.default_rng([int(seed), 212])
    em_rate = {str(r.enterprise_id): float(r.rate_g_s) for r in emitters.itertuples()} if len(emitters) else {}
    sources = area.sources
    flow_of: dict[str, float] = {}
    if sources is not None and len(sources):
        d = pd.to_numeric(sources["diameter_m"], errors="coerce").fillna(0.8).to_numpy(float)
        v = pd.to_numeric(sources["exit_velocity_m_s"], errors="coerce").fillna(8.0).to_numpy(float)
        flow_of = dict(zip(sources["source_id"].astype(str), np.pi * d * d / 4 * v))
    t0 = (start_utc - timedelta(hours=HOURS_BEFORE)).replace(second=0, microsecond=0, minute=0)
    t1 = start_utc + timedelta(hours=HOURS_AFTER)
    minutes = pd.date_range(t0, t1, freq="1min", inclusive="left").to_pydatetime()
    behaviour: dict[str, str] = {}
    for e in sorted(set(mons["enterprise_id"]) & set(em_rate)):
        behaviour[e] = "flatline" if rng.random() < FLATLINE_SHARE else "honest"
    lines: list[tuple[datetime, str]] = []
    truth_rows = []
    for m in mons.itertuples(index=False):
        e = m.enterprise_id
        emitting = e in em_rate
        gap = None
        if rng.random() < 0.15:  # a logger falls silent for a while
            g0 = minutes[int(rng.integers(0, len(minutes) - 90))]
            gap = (g0, g0 + timedelta(minutes=int(rng.integers(40, 90))))
        def silent(t, gap=gap):
            return gap is not None and gap[0] <= t < gap[1]
        gap_utc = [gap[0].isoformat(), gap[1].isoformat()] if gap else None
        if m.kind == "stack":
            flow = float(flow_of.get(m.outlet_id, 5.0)) or 5.0
            row = _stack_packets(m, rng, minutes, silent, lines, flow=flow, rate_g_s=em_rate.get(e),
                                 behaviour=behaviour.get(e, "honest"))
        else:
            row = _meter_packets(m, rng, minutes, silent, lines, emitting=emitting)
        truth_rows.append({**row, "gap_utc": gap_utc})
    lines.sort(key=lambda x: x[0])
    out, n_bad = _with_defects([ln for _, ln in lines], rng)
    path = Path(out_dir) / "monitor" / "monitors.h212"
    path.parent.mkdir(parents=True, exist_ok=True)
    from ecopatrol.core.io import atomic_write

    atomic_write(path, "\r\n".join(out) + "\r\n")
    truth["monitors"] = {"file": "monitor/monitors.h212", "packets": len(out), "corrupt": n_bad,
                         "window_utc": [t0.isoformat(), t1.isoformat()], "loggers": truth_rows}
    log.info("monitors: %d packets (%d corrupt) from %d monitors, %d monitored emitter(s) → %s", len(out), n_bad,
             len(mons), len(behaviour), path)
    return [path]


def _stack_packets(m, rng, minutes, silent, lines: list, *, flow: float, rate_g_s: float | None,
                   behaviour: str) -> dict:
    """A stack monitor's 10-minute averages (CN 2051: NMHC, flow, O2) appended to ``lines``; an
    emitter's NMHC from its rate and the stack's flow (or, ``flatline``, a treated-looking constant).
    Returns its truth row (without the gap)."""
    e, mn = m.enterprise_id, m.mn
    emitting = rate_g_s is not None
    treated = rng.uniform(*TREATED_NMHC_MG_M3)
    true_nmhc = 1000.0 * rate_g_s / flow if emitting else treated
    b = behaviour
    stuck = round(rng.uniform(*TREATED_NMHC_MG_M3), 2)
    night_m = int(rng.integers(0, 4)) if rng.random() < 0.3 else None
    for k in range(0, len(minutes), 10):  # 10-minute averages (CN 2051)
        t = minutes[k]
        if silent(t):
            continue
        on = PRODUCTION_HOURS_LOCAL[0] <= _local_hour(t) < PRODUCTION_HOURS_LOCAL[1]
        conc = true_nmhc if on else treated * 0.3
        shown = stuck if (emitting and b == "flatline") else conc * (1 + 0.05 * rng.standard_normal())
        fl = flow * (1 + 0.03 * rng.standard_normal()) if on else flow * 0.05
        o2 = 16.0 + 0.4 * rng.standard_normal() if on else 20.3 + 0.1 * rng.standard_normal()
        flag = "M" if night_m is not None and int(_local_hour(t)) == night_m else ("N" if on else "F")
        items = [f"a24088-Avg={shown:.3f},a24088-Flag={flag}", f"a00000-Avg={fl:.3f},a00000-Flag={flag}",
                 f"a19001-Avg={o2:.2f},a19001-Flag={flag}"]
        lines.append((t + timedelta(minutes=10), _packet(t + timedelta(minutes=10), "31", "2051", mn, t, items)))
    return {"mn": mn, "enterprise_id": e, "kind": "stack", "emitting": emitting,
            "analyser": behaviour if emitting else "honest",
            "true_nmhc_mg_m3_in_production": round(true_nmhc, 3), "flow_m3_s": round(flow, 3)}


def _meter_packets(m, rng, minutes, silent, lines: list, *, emitting: bool) -> dict:
    """An electricity meter's 5-minute power readings (CN 2011) appended to ``lines``: a production
    meter follows the shifts, a treatment meter of an emitter is off while it produces. Returns its
    truth row (without the gap)."""
    e, mn = m.enterprise_id, m.mn
    rated = float(m.rated_kw) if np.isfinite(m.rated_kw) else 50.0
    code = m.codes[0] if m.codes else "100000"
    for k in range(0, len(minutes), 5):
        t = minutes[k]
        if silent(t):
            continue
        on = PRODUCTION_HOURS_LOCAL[0] <= _local_hour(t) < PRODUCTION_HOURS_LOCAL[1]
        if m.kind == "production_meter":
            p = rated * (0.75 + 0.05 * rng.standard_normal()) if on else rated * 0.02
        else:
            p = (rated * 0.01 if emitting else rated * (0.85 + 0.03 * rng.standard_normal())) if on \
                else rated * 0.02
        lines.append((t + timedelta(seconds=30),
                      _packet(t + timedelta(seconds=30), "80", "2011", mn, t,
                              [f"{code}-Pt={max(p, 0.0):.3f},{code}-Flag=N"])))
    return {"mn": mn, "enterprise_id": e, "kind": m.kind, "emitting": emitting,
            "treatment_off_in_production": bool(emitting and m.kind == "treatment_meter")}


def _with_defects(lines: list[str], rng) -> tuple[list[str], int]:
    """The packet lines with a few real defects (:data:`CORRUPT_SHARE`: a flipped CRC or a cut line);
    returns them and how many were spoilt."""
    out = []
    n_bad = 0
    for ln in lines:
        if rng.random() < CORRUPT_SHARE:  # a real defect: a flipped CRC or a cut line
            ln = ln[:-4] + f"{(int(ln[-4:], 16) ^ 0x5A5A):04X}" if rng.random() < 0.5 else ln[: len(ln) // 2]
            n_bad += 1
        out.append(ln)
    return out, n_bad
