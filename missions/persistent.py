"""A persistent simulated world: the same hidden emitters on every survey day, emitting on some days.

``simulate(..., emitters=SPEC)`` replaces the per-run draw of hidden emitters
(``_world.choose_emitters``, which picks new ones for each seed where the plans can see them)
with a fixed set, so that several runs with different seeds and winds are days of one world:

- ``SPEC`` is a ``truth.json`` path (its ``emitters`` and ``dormant_emitters``: a month keeps
  the world of its first day), a list of source ids or enterprise ids (all the enterprise's
  sources), or a list of dicts ``{source_id | enterprise_id, rate_g_s, p_emit}``;
- a source's rate and its BTX fractions depend on its id only (not on the day's seed) unless
  the spec gives them;
- **time-varying activity**: an emitter emits on a given day with probability ``p_emit`` (the
  spec's, else ``activity``, else 1), drawn from the day's seed and the source id, so the
  same seed gives the same day. Emitters idle that day are written to ``truth.json`` under
  ``dormant_emitters``; ``emitters`` lists those emitting that day, as always.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.errors import InputError
from ecopatrol.core.profiles import PROFILE_REL_SD, SPECIES, species_profile

from ._world import _col, _empty_emitters, rng_for


def _spec_list(spec) -> list[dict]:
    if isinstance(spec, str | Path):
        p = Path(spec)
        if not p.is_file():
            raise InputError(f"emitters `{p}`: not a truth.json file; give a truth.json or a list of source ids")
        t = json.loads(p.read_text(encoding="utf-8"))
        rows = list(t.get("emitters") or []) + list(t.get("dormant_emitters") or [])
        return [{k: r[k] for k in ("source_id", "enterprise_id", "rate_g_s", "p_emit", "species_mass_fraction")
                 if k in r} for r in rows]
    out = []
    for item in spec:
        out.append({"id": str(item)} if isinstance(item, str | int) else dict(item))
    return out


def persistent_emitters(area, spec, *, seed: int, activity: float | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """The world's emitters active on the day of ``seed`` (the emitter frame of ``choose_emitters``)
    and the dormant ones (truth.json entries)."""
    src = area.sources
    if src is None or len(src) == 0:
        return _empty_emitters(), []
    ent = area.enterprises
    src = src.to_crs(area.metric_crs) if src.crs is not None else src
    sx, sy = src.geometry.x.to_numpy(), src.geometry.y.to_numpy()
    if src.crs is None:
        sx, sy = lonlat_to_xy(sx, sy, area.metric_crs)
    info = ent.drop(columns="geometry").drop_duplicates("enterprise_id").set_index("enterprise_id")
    s = pd.DataFrame({
        "source_id": src["source_id"].astype(str).to_numpy(), "enterprise_id": src["enterprise_id"].astype(str).to_numpy(),
        "x_m": sx, "y_m": sy, "lon": src.to_crs(4326).geometry.x.to_numpy() if src.crs is not None else src.geometry.x,
        "lat": src.to_crs(4326).geometry.y.to_numpy() if src.crs is not None else src.geometry.y,
        "height_m": pd.to_numeric(src["height_m"], errors="coerce").fillna(10.0).to_numpy(),
        "diameter_m": _col(src, "diameter_m"), "exit_velocity_m_s": _col(src, "exit_velocity_m_s"),
        "exit_temp_k": _col(src, "exit_temp_k", 293.15)})
    s["positive_list"] = s["enterprise_id"].map(info["positive_list"]).fillna(False).astype(bool).to_numpy()
    s["industry"] = s["enterprise_id"].map(info["industry"]).fillna("").astype(str).to_numpy()
    s["name"] = s["enterprise_id"].map(info["name"]).fillna("").astype(str).to_numpy() if "name" in info else ""
    by_src = {sid: i for i, sid in enumerate(s["source_id"])}
    rows: list[tuple[int, dict]] = []
    for item in _spec_list(spec):
        key = str(item.get("source_id") or item.get("enterprise_id") or item.get("id") or "")
        if key in by_src:
            idx = [by_src[key]]
        else:
            idx = list(np.flatnonzero(s["enterprise_id"].to_numpy() == key))
        if not idx:
            raise InputError(f"emitters: `{key}` is neither a source id nor an enterprise id of area `{area.name}`")
        rows += [(i, item) for i in idx]
    active, dormant = [], []
    for i, item in rows:
        r = s.iloc[i].to_dict()
        sid = r["source_id"]
        rate = item.get("rate_g_s")
        r["rate_g_s"] = round(float(rate) if rate is not None
                              else float(np.clip(np.exp(rng_for(0, f"rate:{sid}").normal(0.0, 0.6)), 0.3, 5.0)), 3)
        fr = item.get("species_mass_fraction")
        if fr:
            fr = [float(fr[sp]) for sp in SPECIES]
        else:
            fr = np.asarray(species_profile(r["industry"])) * np.exp(
                rng_for(0, f"profile:{sid}").normal(0.0, PROFILE_REL_SD, len(SPECIES)))
        for j, sp in enumerate(SPECIES):
            r[f"frac_{sp}"] = float(fr[j])
        p = item.get("p_emit", activity)
        p = 1.0 if p is None else float(p)
        if not 0.0 <= p <= 1.0:
            raise InputError(f"emitters: p_emit {p!r} of `{sid}` is not a probability (0–1)")
        r["p_emit"], r["score"], r["distance_m"] = p, 0.0, float("nan")
        if rng_for(seed, f"activity:{sid}").random() < p:
            active.append(r)
        else:
            dormant.append({"enterprise_id": r["enterprise_id"], "source_id": sid, "rate_g_s": r["rate_g_s"],
                            "rate_of": "TVOC", "p_emit": p, "positive_list": bool(r["positive_list"]),
                            "industry": r["industry"], "lon": float(r["lon"]), "lat": float(r["lat"]),
                            "species_mass_fraction": {sp: r[f"frac_{sp}"] for sp in SPECIES},
                            "emitting_today": False})
    em = pd.DataFrame(active) if active else _empty_emitters().assign(p_emit=pd.Series(dtype=float))
    return em.drop(columns=[c for c in ("lon", "lat") if c in em.columns]).reset_index(drop=True), dormant
