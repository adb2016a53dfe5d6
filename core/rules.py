"""The rules an area is planned and checked under, by country: the one place that says them.

An area's ``area.toml`` may name its ``country`` (ISO 3166-1 alpha-2: ``"CN"``, ``"US"``,
``"DE"`` …). Without it the country is inferred from where the registry lies: China when its
points fall in the box where GCJ-02 offsets apply (:func:`ecopatrol.core.crs.in_china`, a box
around China that also covers parts of its neighbours — outside China, say the country), and
"unknown" (generic rules) otherwise.

What changes with the country (:class:`AreaRules`):

* **Coordinates.** GCJ-02 and BD-09 are Chinese web-map datums: rows may be stored in them only
  in China; elsewhere a ``crs`` of ``gcj02``/``bd09`` is an error (WGS-84 and CGCS2000 are
  accepted everywhere).
* **Enterprise ids.** In China ids that look like a unified social credit code (USCC, GB
  32100-2015), or stand under a USCC header, are checked as one; elsewhere ids are only checked
  for being present and unique.
* **Where points may lie.** Only for China can we tell that a point lies outside the country;
  elsewhere points are checked against the area's other data (roads, launch sites, depot).
* **Height cap** (true height above ground, what the drone planner and the pre-flight validator
  enforce): the national limit where it is known (:data:`NATIONAL_HEIGHT_CAPS_M`, with its
  source), or the area's ``[limits] height_cap_m``; an area may set a lower cap anywhere, and a
  higher one only with a warning (fly with an approval or waiver covering it). An unknown
  country without ``[limits] height_cap_m`` gets 120 m, with a warning.
* **Airspace classes** (``free`` / ``controlled`` / ``needs-approval``): China's classes, expected
  in a Chinese registry; elsewhere allowed (and honoured: the planner warns about controlled
  targets) but not expected.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError

if TYPE_CHECKING:
    from .area import AreaLike

AIRSPACE_CLASSES = ("free", "controlled", "needs-approval")
GENERIC_HEIGHT_CAP_M = 120.0
MIN_HEIGHT_CAP_M, MAX_HEIGHT_CAP_M = 20.0, 500.0

_EU_EEA_CH = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
              "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "CH")
_EU_SOURCE = ("Commission Implementing Regulation (EU) 2019/947, Art. 4(1)(d) and UAS.OPEN.010: open category "
              "within 120 m of the closest point of the Earth's surface (EU, EEA and Switzerland)")

#: Known national height limits for small drones flown without a special approval:
#: country → (metres above ground, source).
NATIONAL_HEIGHT_CAPS_M: dict[str, tuple[float, str]] = {
    "CN": (120.0, "《无人驾驶航空器飞行管理暂行条例》 (State Council and CMC Decree No. 761, in force "
                  "2024-01-01): light drones in suitable airspace below 120 m true height"),
    "US": (121.92, "FAA 14 CFR § 107.51(b): no higher than 400 ft (121.92 m) above ground level"),
    "GB": (120.0, "UK CAA, open category (UK Regulation (EU) 2019/947 as retained): 120 m (400 ft) above "
                  "the surface"),
    "CA": (122.0, "Canadian Aviation Regulations (SOR/96-433) s. 901.25: 122 m (400 ft) above ground level"),
    "AU": (120.0, "CASA, CASR Part 101 standard operating conditions: 120 m (400 ft) above ground level"),
    **{c: (120.0, _EU_SOURCE) for c in _EU_EEA_CH},
}


@dataclass(frozen=True)
class AreaRules:
    """The rules in force for one area (see the module docstring)."""

    country: str | None  # ISO 3166-1 alpha-2, None when unknown
    coordinate_systems_allowed: tuple[str, ...]
    id_check: str  # "uscc" (China) | "unique"
    height_cap_m: float  # in force: the area's [limits] height_cap_m, else the national limit, else 120 m
    height_cap_source: str
    legal_height_cap_m: float | None  # the national limit when known
    airspace_classes: tuple[str, ...] = AIRSPACE_CLASSES
    airspace_expected: bool = False  # China: every enterprise should say its airspace class
    country_check: bool = False  # whether a point can be told to lie outside the country (China only)
    country_inferred: bool = False

    @property
    def china(self) -> bool:
        return self.country == "CN"

    @property
    def country_label(self) -> str:
        return self.country or "unknown"

    def describe(self) -> str:
        """One line, e.g. ``CN rules: GCJ-02/BD-09 converted, USCC ids, 120 m true-height cap, airspace classes``."""
        if self.china:
            parts = ["GCJ-02/BD-09 converted", "USCC ids", f"{self.height_cap_m:g} m true-height cap",
                     "airspace classes"]
        else:
            parts = ["WGS-84 only", "unique ids", f"{self.height_cap_m:g} m height cap"]
        how = " (inferred from the registry)" if self.country_inferred else ""
        return f"{self.country_label} rules{how}: " + ", ".join(parts)

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("coordinate_systems_allowed", "airspace_classes"):
            d[k] = list(d[k])
        return d


def normalise_country(value) -> str | None:
    """``"cn"`` → ``"CN"``; ``""``, ``"unknown"``, ``"other"`` → None; anything else is an InputError."""
    if value is None:
        return None
    s = str(value).strip()
    if s.lower() in ("", "unknown", "other", "none", "xx"):
        return None
    if not re.fullmatch(r"[A-Za-z]{2}", s):
        raise InputError(f"country {value!r}: give an ISO 3166-1 alpha-2 code such as \"CN\", \"US\" or \"DE\" "
                         "(or \"unknown\" for generic rules)")
    return s.upper()


def infer_country(lon, lat, *, no_evidence: str | None = "CN") -> str | None:
    """``"CN"`` when most valid points lie in China's box (points with lon/lat swapped count too), else None.

    With no valid WGS-84 point at all there is nothing to tell from: ``no_evidence`` is returned
    (China by default, ecopatrol's home, so that the messages say where China is).
    """
    from .crs import in_china

    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    ok = np.isfinite(lon) & np.isfinite(lat) & (((np.abs(lon) <= 180) & (np.abs(lat) <= 90))
                                                 | ((np.abs(lat) <= 180) & (np.abs(lon) <= 90)))
    if not ok.any():
        return no_evidence
    x, y = lon[ok], lat[ok]
    china = in_china(x, y) | in_china(y, x)
    return "CN" if china.mean() >= 0.5 else None


def rules_for(country: str | None, *, height_cap_m: float | None = None, inferred: bool = False,
              report=None, file=None) -> AreaRules:
    """The rules for ``country`` (None: unknown), with the area's own height cap if it sets one.

    Problems of ``height_cap_m`` (out of range: error; above the national limit, or none known
    and none set: warning) go to ``report`` (a :class:`~ecopatrol.core.errors.Report`) when given.
    """
    country = normalise_country(country)
    legal, legal_source = NATIONAL_HEIGHT_CAPS_M.get(country, (None, None)) if country else (None, None)
    cap, source = legal, legal_source
    if height_cap_m is not None:
        try:
            v = float(height_cap_m)
        except (TypeError, ValueError):
            v = float("nan")
        if not (np.isfinite(v) and MIN_HEIGHT_CAP_M <= v <= MAX_HEIGHT_CAP_M):
            if report is not None:
                report.error(f"`[limits] height_cap_m` {height_cap_m!r}: give the height cap above ground in metres, "
                             f"between {MIN_HEIGHT_CAP_M:g} and {MAX_HEIGHT_CAP_M:g}", file=file, field="height_cap_m")
        else:
            cap, source = v, "area.toml [limits] height_cap_m"
            if legal is not None and v > legal + 1e-9 and report is not None:
                report.warning(f"`[limits] height_cap_m` {v:g} m is above {country}'s {legal:g} m limit ({legal_source}): "
                               "fly above it only with an approval or waiver covering it", file=file,
                               field="height_cap_m")
    if cap is None:
        cap, source = GENERIC_HEIGHT_CAP_M, "default (no national limit known for this country)"
        if report is not None:
            report.warning(f"no height limit is known for country {country or 'unknown'}: using "
                           f"{GENERIC_HEIGHT_CAP_M:g} m; set `[limits] height_cap_m` to your rules' limit",
                           file=file, field="height_cap_m")
    china = country == "CN"
    return AreaRules(
        country=country,
        coordinate_systems_allowed=("wgs84", "cgcs2000", "gcj02", "bd09") if china else ("wgs84", "cgcs2000"),
        id_check="uscc" if china else "unique",
        height_cap_m=float(cap),
        height_cap_source=source,
        legal_height_cap_m=legal,
        airspace_expected=china,
        country_check=china,
        country_inferred=inferred,
    )


def rules_from_config(config: dict, lon=None, lat=None, *, report=None, file=None) -> AreaRules:
    """The rules of an area from its ``area.toml`` dict (``country``, ``[limits] height_cap_m``).

    Without ``country`` it is inferred from the points ``lon``, ``lat`` (the registry's).
    """
    limits = config.get("limits") or {}
    cap = limits.get("height_cap_m") if isinstance(limits, dict) else None
    if "country" in config:
        try:
            country = normalise_country(config["country"])
        except InputError as exc:
            if report is None:
                raise
            report.error(str(exc), file=file, field="country")
            country = infer_country(lon, lat) if lon is not None else None
        return rules_for(country, height_cap_m=cap, report=report, file=file)
    country = infer_country(lon, lat) if lon is not None else "CN"
    return rules_for(country, height_cap_m=cap, inferred=True, report=report, file=file)


def rules_of(area: AreaLike) -> AreaRules:
    """The rules of a loaded area (``area.rules``), or — for an area-like object without them (test
    doubles; ``rules`` is optional in :class:`~.area.AreaLike`) — the rules its ``config`` and
    enterprises give."""
    r = getattr(area, "rules", None)
    if isinstance(r, AreaRules):
        return r
    e = area.enterprises
    lon = lat = None
    if e is not None and len(e):
        pts = e.geometry.representative_point()
        lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
    return rules_from_config(dict(area.config or {}), lon, lat)
