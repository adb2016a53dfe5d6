"""Alarms from the stored HJ 212 data: ``ecopatrol monitor alarms``.

:func:`monitor_alarms` reads the records of the database (within ``start``–``end``), assigns each
to its monitor from the area's ``monitors.csv`` (:mod:`ecopatrol.core.monitors`), runs every rule
(:mod:`.alarm_rules`, :mod:`.power_rules`, parameters in :class:`~.rules.AlarmRules`) and returns
an :class:`AlarmResult`: the alarms (:data:`~.alarm_rules.ALARM_COLUMNS`, strongest first), the
completeness per logger and local day, and the loggers the monitors file does not name — listed,
never dropped: their alarms carry ``enterprise_known = False`` and an empty ``enterprise_id``.

``alarms.csv`` (:func:`write_alarms`) has a column ``enterprise_id``, so ``ecopatrol plan drone|van
--targets-file alarms.csv`` plans the enterprises it names, strongest alarm first, and
``ecopatrol targets … --alarms alarms.csv`` reads it as evidence (:mod:`.evidence`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.monitors import Monitors, empty_monitors
from ..hj212 import codes
from .alarm_rules import (ALARM_COLUMNS, OBS_COLUMNS, Context, rule_exceedance, rule_flags, rule_flatline,
                          rule_missing, rule_zero_flow)
from .power_rules import power_series, production_state, rule_power
from .rules import ALARM_KINDS, AlarmRules

log = logging.getLogger(__name__)

#: Commands whose records are measured values (real-time, minute, hourly, daily).
DATA_CNS = ("2011", "2051", "2061", "2031")


@dataclass
class AlarmResult:
    """What :func:`compute_alarms` found."""

    alarms: pd.DataFrame
    completeness: pd.DataFrame
    unknown_mns: pd.DataFrame      # loggers in the data that no monitors file names (mn, st, records)
    start_utc: pd.Timestamp
    end_utc: pd.Timestamp
    rules: AlarmRules
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict:
        a = self.alarms
        return {
            "window_utc": [self.start_utc, self.end_utc], "alarms": int(len(a)),
            "by_kind": {k: int(v) for k, v in a["kind"].value_counts().items()} if len(a) else {},
            "enterprises_with_alarms": int(a.loc[a["enterprise_known"], "enterprise_id"].nunique()) if len(a) else 0,
            "alarms_enterprise_unknown": int((~a["enterprise_known"].astype(bool)).sum()) if len(a) else 0,
            "loggers": int(self.completeness["mn"].nunique()) if len(self.completeness) else 0,
            "unknown_loggers": int(len(self.unknown_mns)),
            "mean_completeness": round(float(self.completeness["completeness"].mean()), 4)
            if len(self.completeness) else None,
            "notes": list(self.notes), "seconds": round(self.seconds, 2),
        }


def observations(records: pd.DataFrame) -> pd.DataFrame:
    """The rules' observation frame (:data:`~.alarm_rules.OBS_COLUMNS`) from stored records
    (``mn, cn, data_time_utc, pollutant_code, pollutant_code_2017, suffix, value, flag``): the code is
    the 2017 code when there is one, else as sent; ``period`` from the command."""
    r = records[records["cn"].isin(DATA_CNS) & records["data_time_utc"].notna()]
    period = r["cn"].map({c: codes.COMMANDS.get(c, ("", "", None))[2] for c in r["cn"].unique()})
    code = r["pollutant_code_2017"].where(r["pollutant_code_2017"].notna() & (r["pollutant_code_2017"] != ""),
                                          r["pollutant_code"])
    t = pd.to_datetime(r["data_time_utc"], utc=True)
    out = pd.DataFrame({"mn": r["mn"].astype(str).to_numpy(), "cn": r["cn"].astype(str).to_numpy(),
                        "period": period.to_numpy(), "time": t.reset_index(drop=True), "code": code.astype(str).to_numpy(),
                        "suffix": r["suffix"].astype(str).to_numpy(),
                        "value": pd.to_numeric(r["value"], errors="coerce").astype(float).to_numpy(),
                        "flag": r["flag"].where(r["flag"].notna(), None).to_numpy()})
    out["time"] = pd.to_datetime(out["time"], utc=True)
    return out[list(OBS_COLUMNS)]


def attach_monitors(obs: pd.DataFrame, monitors: pd.DataFrame) -> np.ndarray:
    """Per observation, the row of ``monitors`` it belongs to (MN and code; a row without codes takes
    every code of its MN not given to another row), −1 when none."""
    mon = np.full(len(obs), -1, dtype=np.int64)
    if monitors.empty or obs.empty:
        return mon
    exact, whole = {}, {}
    for i, m in monitors.reset_index(drop=True).iterrows():
        if m["codes"]:
            for c in m["codes"]:
                exact[(m["mn"], c)] = i
        else:
            whole[m["mn"]] = i
    return np.fromiter((exact.get((mn, c), whole.get(mn, -1)) for mn, c in zip(obs["mn"], obs["code"])),
                       dtype=np.int64, count=len(obs))


def compute_alarms(records: pd.DataFrame, monitors: Monitors | None = None, limits: pd.DataFrame | None = None, *,
                   rules: AlarmRules | None = None, start=None, end=None, stations: pd.DataFrame | None = None
                   ) -> AlarmResult:
    """Every alarm of ``records`` (stored records, or an observation frame) in [start, end).

    ``monitors`` (:class:`~ecopatrol.core.monitors.Monitors`), ``limits`` (the rows with a value of
    :func:`~ecopatrol.core.limits.load_limits`). The window defaults to the data's hours. ``stations``
    (``mn, st, packets``) lists the loggers known to the database for the unknown-logger table.
    """
    t0 = time.perf_counter()
    rules = rules or AlarmRules()
    mons = (monitors or empty_monitors()).table.reset_index(drop=True)
    obs = records if "period" in records.columns and "time" in records.columns else observations(records)
    # plain object strings: the rules group and iterate over them (arrow-backed strings are slow to iterate)
    obs = obs.astype({c: object for c in ("mn", "cn", "period", "code", "suffix", "flag")})
    obs = obs.sort_values(["mn", "cn", "time"], kind="stable").reset_index(drop=True)
    if start is not None:
        obs = obs[obs["time"] >= pd.Timestamp(start)]
    if end is not None:
        obs = obs[obs["time"] < pd.Timestamp(end)]
    obs = obs.reset_index(drop=True)
    notes = []
    if start is None or end is None:
        lo, hi = data_window(obs["time"])
        start = lo if start is None else start
        end = hi if end is None else end
        start, end = _utc(start), _utc(end)
        outside = (obs["time"] < start) | (obs["time"] >= end)
        if outside.any():
            notes.append(f"window {start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} UTC from the data (1st–99th "
                         f"percentile of the data times): {int(outside.sum())} records of "
                         f"{obs.loc[outside, 'mn'].nunique()} logger(s) lie outside it (clocks off?) and are not "
                         "checked; give --from/--to to choose")
            obs = obs[~outside.to_numpy()].reset_index(drop=True)
    start, end = _utc(start), _utc(end)
    valid = set(rules.valid_flags)
    obs = obs.assign(valid=obs["flag"].isna().to_numpy() | obs["flag"].isin(valid).to_numpy(),
                     mon=attach_monitors(obs, mons))
    lim = limits if limits is not None else pd.DataFrame()
    ctx = Context(obs=obs, monitors=mons, limits=lim, start=start, end=end, rules=rules)
    series = power_series(ctx)
    ctx.production = production_state(ctx, series)
    alarms = rule_exceedance(ctx) + rule_flatline(ctx) + rule_flags(ctx) + rule_zero_flow(ctx) + rule_power(ctx, series)
    missing, completeness = rule_missing(ctx)
    alarms += missing
    if mons.empty:
        notes.append("no monitors file: every alarm is per data logger (MN) with the enterprise unknown")
    if lim.empty or not len(lim):
        notes.append("no limit values: exceedances not checked (give an area limits.csv with the permits' values)")
    elif not rules.limits_for_unknown and (obs["mon"] < 0).any():
        notes.append("loggers no monitors file names are not checked for exceedances (--limits-for-unknown SET)")
    if not series:
        notes.append("no electricity meters in the data: electricity rules not applied")
    df = pd.DataFrame(alarms, columns=list(ALARM_COLUMNS))
    if len(df):
        df = df.sort_values(["strength", "start_utc", "mn", "kind"], ascending=[False, True, True, True],
                            kind="stable").reset_index(drop=True)
        df["alarm_id"] = [f"A{i + 1:04d}" for i in range(len(df))]
    unknown = _unknown(obs, stations)
    res = AlarmResult(df, completeness, unknown, start, end, rules, notes, time.perf_counter() - t0)
    s = res.summary()
    log.info("alarms %s … %s: %d alarms (%s), %d loggers, %d not in the monitors file, %.1f s", start, end,
             s["alarms"], ", ".join(f"{k} {v}" for k, v in s["by_kind"].items()) or "none", s["loggers"],
             s["unknown_loggers"], res.seconds)
    return res


def data_window(times: pd.Series, q: float = 0.01) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The hours the data cover: from the hour of their ``q`` quantile to the end of the hour of their
    ``1 − q`` quantile (a logger whose clock is years off does not stretch it); one hour from now
    when there are no data."""
    if len(times) == 0:
        now = pd.Timestamp.now(tz="UTC").floor("h")
        return now, now + pd.Timedelta(hours=1)
    ns = pd.DatetimeIndex(times).as_unit("ns").asi8
    lo = pd.Timestamp(int(np.quantile(ns, q)), tz="UTC").floor("h")
    hi = (pd.Timestamp(int(np.quantile(ns, 1 - q)), tz="UTC") + pd.Timedelta(seconds=1)).ceil("h")
    return lo, hi


def _utc(t) -> pd.Timestamp:
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _unknown(obs: pd.DataFrame, stations: pd.DataFrame | None) -> pd.DataFrame:
    """Loggers whose data no monitor row claims (any of their records), with their ST and counts."""
    u = obs[obs["mon"] < 0].groupby("mn").agg(records=("value", "size"), codes=("code", "nunique"),
                                               first_utc=("time", "min"), last_utc=("time", "max")).reset_index()
    if stations is not None and len(stations):
        u = u.merge(stations[["mn", "st", "packets"]], on="mn", how="left")
    return u


def read_records(engine, start=None, end=None) -> pd.DataFrame:
    """The stored data records (:data:`DATA_CNS`) with their data time in [start, end)."""
    from sqlalchemy import select

    from ecopatrol.core.db import schema as S

    r = S.hj212_records.c
    q = select(r.mn, r.cn, r.data_time_utc, r.pollutant_code, r.pollutant_code_2017, r.suffix, r.value, r.flag) \
        .where(r.cn.in_(DATA_CNS))
    if start is not None:
        q = q.where(r.data_time_utc >= _utc(start).to_pydatetime())
    if end is not None:
        q = q.where(r.data_time_utc < _utc(end).to_pydatetime())
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    cols = ["mn", "cn", "data_time_utc", "pollutant_code", "pollutant_code_2017", "suffix", "value", "flag"]
    data = list(zip(*rows)) if rows else [[] for _ in cols]
    return pd.DataFrame({c: pd.Series(v, dtype=float if c == "value" else object) for c, v in zip(cols, data)})


def read_stations(engine) -> pd.DataFrame:
    from sqlalchemy import select

    from ecopatrol.core.db import schema as S

    s = S.stations.c
    with engine.connect() as conn:
        rows = conn.execute(select(s.mn, s.st, s.packets)).all()
    return pd.DataFrame(rows, columns=["mn", "st", "packets"])


def monitor_alarms(engine, area=None, *, start=None, end=None, rules: AlarmRules | None = None,
                   limits_for_unknown: tuple[str, ...] = ()) -> AlarmResult:
    """:func:`compute_alarms` on the database of ``engine`` with the area's monitors and limits
    (``area`` None: no monitors, the shipped limits)."""
    from ecopatrol.core.errors import InputError
    from ecopatrol.core.limits import limits_for_area
    from ecopatrol.core.monitors import monitors_for_area

    lim = limits_for_area(area)
    unknown_sets = [s for s in limits_for_unknown if s not in lim.sets()]
    if unknown_sets:
        raise InputError(f"--limits-for-unknown {', '.join(unknown_sets)}: no such limit set; the limits files "
                         f"name {', '.join(sorted(lim.sets()))}")
    empty = [s for s in limits_for_unknown if lim.for_set(s).empty]
    mons = monitors_for_area(area, limit_sets=lim.sets()) if area is not None else empty_monitors()
    rules = rules or AlarmRules()
    if limits_for_unknown:
        from dataclasses import replace

        rules = replace(rules, limits_for_unknown=tuple(limits_for_unknown))
    res = compute_alarms(read_records(engine, start, end), mons, lim.table, rules=rules, start=start, end=end,
                         stations=read_stations(engine))
    if empty:
        res.notes.append(f"limit set(s) {', '.join(empty)} have no values in the limits files: nothing to compare")
    return res


def write_alarms(result: AlarmResult, path: str | Path) -> Path:
    """``alarms.csv`` (UTF-8 with BOM, for spreadsheets), times in ISO 8601 UTC, written atomically."""
    from ecopatrol.core.io import atomic_path

    path = Path(path)
    df = result.alarms.copy()
    for c in ("start_utc", "end_utc"):
        df[c] = pd.to_datetime(df[c], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ") if len(df) else df[c]
    df.insert(df.columns.get_loc("kind") + 1, "kind_zh", df["kind"].map(lambda k: ALARM_KINDS.get(k, ("", ""))[1]))
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, encoding="utf-8-sig")
    return path


def read_alarms(path: str | Path) -> pd.DataFrame:
    """An ``alarms.csv`` written by :func:`write_alarms` (times back as UTC timestamps)."""
    from ecopatrol.core.errors import FormatError, InputError, InputFileNotFoundError

    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"`{path}`: no such alarms file (write one with `ecopatrol monitor alarms`)")
    try:
        df = pd.read_csv(path, dtype={"enterprise_id": str, "mn": str, "outlet_id": str, "pollutant_code": str},
                         keep_default_na=False, na_values={"value": [""], "limit_value": [""], "strength": [""]},
                         encoding="utf-8-sig")
    except Exception as exc:
        raise FormatError(f"`{path.name}` is not a readable CSV: {exc}") from exc
    missing = [c for c in ("enterprise_id", "kind", "start_utc", "end_utc", "strength") if c not in df.columns]
    if missing:
        raise InputError(f"`{path.name}`: column(s) {', '.join(missing)} missing: is it an alarms.csv written by "
                         "`ecopatrol monitor alarms`?")
    for c in ("start_utc", "end_utc"):
        df[c] = pd.to_datetime(df[c], utc=True, errors="coerce")
    df["strength"] = pd.to_numeric(df["strength"], errors="coerce").fillna(0.0).clip(0, 1)
    df["enterprise_id"] = df["enterprise_id"].fillna("").astype(str).str.strip()
    return df
