"""Helpers for the ledger tests (a helper module, not a test module): databases, synthetic runs, truth coverage."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PG_URL = os.environ.get("ECOPATROL_TEST_PG_URL")


def reset_pg(url: str) -> None:
    from sqlalchemy import create_engine

    from ecopatrol.core.db import normalise_url

    e = create_engine(normalise_url(url))
    with e.begin() as c:
        c.exec_driver_sql("DROP SCHEMA public CASCADE")
        c.exec_driver_sql("CREATE SCHEMA public")
    e.dispose()


def pg_url_or_skip() -> str:
    """The test server's URL with its public schema emptied; the test skips, saying why, without one."""
    if not PG_URL:
        pytest.skip("PostgreSQL: set ECOPATROL_TEST_PG_URL=postgresql://USER@HOST:PORT/DB (.ci/run starts one)")
    try:
        reset_pg(PG_URL)
    except Exception as exc:  # the server named is not there
        pytest.skip(f"PostgreSQL at ECOPATROL_TEST_PG_URL is not reachable: {exc}")
    return PG_URL


def db_url_for(param: str, tmp_path: Path) -> str:
    if param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return pg_url_or_skip()


def firms(n: int, *, positive_every: int = 4) -> pd.DataFrame:
    """A registry of ``n`` firms F000…: every ``positive_every``-th is not on the positive list."""
    import geopandas as gpd

    ids = [f"F{i:03d}" for i in range(n)]
    return gpd.GeoDataFrame({
        "enterprise_id": ids, "name": [f"firm {i}" for i in range(n)], "industry": "packaging printing",
        "positive_list": [i % positive_every != 0 for i in range(n)],
        "last_inspected": pd.NaT, "violations_3y": 0,
    }, geometry=gpd.points_from_xy(120.4 + np.arange(n) * 1e-3, np.full(n, 36.4)), crs="EPSG:4326")


def fake_assessment(run_key: str, ent: pd.DataFrame, ids: list[str], *, when: datetime, results=None):
    """A :class:`RunAssessment` with one off-site check per id (results cycle through ``results``)."""
    from ecopatrol.processing.ledger.coverage import RunAssessment

    results = results or ["clean"]
    files = [{"file": "samples/samples.parquet", "sha256": run_key}]
    a = RunAssessment(run_dir=Path("/nonexistent/run"), run_key=run_key, area="test", survey_start_utc=pd.Timestamp(when),
                      survey_end_utc=pd.Timestamp(when + timedelta(hours=2)), files=files, detection_rate_g_s=0.5,
                      noise_ugm3=5.0, enterprises=ent)
    for i, e in enumerate(ids):
        r = results[i % len(results)]
        a.checks.append({"enterprise_id": e, "time_utc": when + timedelta(minutes=i), "kind": "off-site",
                         "method": "van pass" if i % 2 else "drone curtain", "trigger": "routine plan", "result": r,
                         "reason": "test", "evidence": json.dumps(files), "n_samples_covering": 10,
                         "emit_probability": 0.9 if r == "suspicious" else 0.0, "rate_g_s": None})
    return a


def truth_covered(run: Path) -> set[str]:
    """Firms the simulator's truth says were covered: the same plume test (detection rate, k × noise, minimum
    samples) on the true sample positions under the true wind of each sample, not the measured one."""
    from ecopatrol.core.area import load_area
    from ecopatrol.core.weather import Wind
    from ecopatrol.processing.ledger.coverage import (DETECTION_K_NOISE, DETECTION_RATE_G_S, MIN_COVER_SAMPLES,
                                                      coverage_counts)

    area = load_area(run / "area")
    tp = pd.read_parquet(run / "field" / "truth_positions.parquet")
    if "written" in tp.columns:
        tp = tp[tp["written"].astype(bool)]
    truth = json.loads((run / "field" / "truth.json").read_text())
    ev = json.loads((run / "evidence" / "evidence.json").read_text())
    noise = max(v["noise"] for v in ev["hotspot_rule"].values() if isinstance(v, dict) and v.get("used"))
    d = pd.DataFrame({"lon": tp["lon"], "lat": tp["lat"], "alt_agl_m": tp["alt_agl_m"],
                      "platform_id": tp["platform_id"], "mission_id": tp["mission_id"],
                      "time_utc": pd.to_datetime(tp["stamp_true_utc"], utc=True),
                      "wind_from_deg": tp["true_wind_from_deg"], "wind_speed_m_s": tp["true_wind_speed_m_s"],
                      "tvoc_ugm3": 0.0, "qa_flags": ""}).reset_index(drop=True)
    # one "pass" per 2° × 0.5 m/s bin of the true wind: each sample sees (nearly) its own wind
    d["pass_id"] = (np.round(d["wind_from_deg"] / 2) * 100 + np.round(d["wind_speed_m_s"] * 2)).astype(int)
    w = truth["wind"]
    src = coverage_counts(d, area, crs=ev["metric_crs"], wind=Wind(w["from_deg"], w["speed_m_s"], w["stability"]),
                          threshold_unit=DETECTION_K_NOISE * noise / DETECTION_RATE_G_S)
    cov = src.groupby("enterprise_id")["n_cover"].min()
    return set(cov[cov >= MIN_COVER_SAMPLES].index.astype(str))


NOW = datetime(2026, 6, 1, tzinfo=UTC)
