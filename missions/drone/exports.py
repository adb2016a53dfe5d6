"""Write a drone plan: ``plan.json``, per-sortie QGC ``.plan``, ``.waypoints``, DJI ``.kmz``,
``.kml``, ``.geojson``, and ``summary.json`` / ``summary.txt``.

Heights. The plan holds true heights above ground (``alt_agl_m``, from the DEM) and AMSL
(``alt_amsl_m``). MAVLink exports use ``MAV_FRAME_GLOBAL_RELATIVE_ALT`` (3): height above the
home (launch) point, i.e. ``alt_amsl_m − launch ground_amsl_m``, so a vehicle that takes off
at the launch site flies the planned true heights over sloping ground. DJI WPML uses
``relativeToStartPoint`` with the same relative heights. KML and GeoJSON carry AMSL.

Every file is written atomically (temporary file in the same folder, then ``os.replace``).
:func:`write_drone_plan` runs the independent validator first and refuses to write a plan
that fails it.
"""

from __future__ import annotations

import io
import json
import logging
import math
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from ecopatrol.core.artefacts.plan import write_plan
from ecopatrol.core.errors import SafetyError
from ecopatrol.core.io import atomic_write

from ._safe import safe_stem
from .aircraft import get_aircraft
from .validate import validate_plan

log = logging.getLogger(__name__)

# MAVLink ids used
MAV_CMD_NAV_WAYPOINT = 16
MAV_CMD_NAV_LAND = 21
MAV_CMD_NAV_TAKEOFF = 22
MAV_CMD_DO_CHANGE_SPEED = 178
MAV_FRAME_GLOBAL = 0
MAV_FRAME_MISSION = 2
MAV_FRAME_GLOBAL_RELATIVE_ALT = 3
QGC_FIRMWARE_ARDUPILOT = 3
QGC_VEHICLE_QUADROTOR = 2
ACCEPT_RADIUS_M = 2.0
RTH_MIN_M = 20.0  # DJI's lowest return-to-home height
WPML_NS = "http://www.dji.com/wpmz/1.0.6"
KML_NS = "http://www.opengis.net/kml/2.2"


# ---------------------------------------------------------------------------------------
# MAVLink mission items
# ---------------------------------------------------------------------------------------

def mission_items(sortie: dict) -> list[dict]:
    """MAVLink mission items of a sortie dict (without the home item), in QGC ``SimpleItem`` form.

    Each item: ``command``, ``frame``, ``params`` (7 values; lat/lon degrees in 5 and 6,
    height above home in 7), ``autoContinue``. A ``DO_CHANGE_SPEED`` precedes every change
    of commanded ground speed.
    """
    home = float(sortie["launch"]["ground_amsl_m"])
    items: list[dict] = []
    speed = None
    for w in sortie["waypoints"]:
        rel = round(float(w["alt_amsl_m"]) - home, 2)
        lat, lon = float(w["lat"]), float(w["lon"])
        act = w["action"]
        if act == "takeoff":
            items.append({"command": MAV_CMD_NAV_TAKEOFF, "frame": MAV_FRAME_GLOBAL_RELATIVE_ALT,
                          "params": [0, 0, 0, None, lat, lon, rel]})
            continue
        if act == "land":
            items.append({"command": MAV_CMD_NAV_LAND, "frame": MAV_FRAME_GLOBAL_RELATIVE_ALT,
                          "params": [0, 0, 0, None, lat, lon, 0]})
            continue
        v = float(w["speed_m_s"])
        if speed is None or abs(v - speed) > 1e-6:
            items.append({"command": MAV_CMD_DO_CHANGE_SPEED, "frame": MAV_FRAME_MISSION,
                          "params": [1, v, -1, 0, 0, 0, 0]})
            speed = v
        items.append({"command": MAV_CMD_NAV_WAYPOINT, "frame": MAV_FRAME_GLOBAL_RELATIVE_ALT,
                      "params": [float(w.get("hold_s") or 0.0), ACCEPT_RADIUS_M, 0, None, lat, lon, rel]})
    return items


def qgc_plan(sortie: dict, plan: dict, zones: list[dict], rally: list[tuple[float, float, float]]) -> dict:
    """A QGroundControl ``.plan`` (JSON) for one sortie."""
    launch = sortie["launch"]
    ac = get_aircraft(sortie["aircraft"])
    items = []
    for k, it in enumerate(mission_items(sortie), start=1):
        p = it["params"]
        item = {"type": "SimpleItem", "autoContinue": True, "command": it["command"], "doJumpId": k,
                "frame": it["frame"], "params": p}
        if it["frame"] == MAV_FRAME_GLOBAL_RELATIVE_ALT:
            item.update({"AMSLAltAboveTerrain": None, "Altitude": p[6], "AltitudeMode": 1})
        items.append(item)
    polygons = [{"inclusion": False, "polygon": [[round(lat, 8), round(lon, 8)] for lon, lat in z["ring"]],
                 "version": 1} for z in zones]
    return {
        "fileType": "Plan", "groundStation": "ecopatrol", "version": 1,
        "mission": {
            "version": 2, "firmwareType": QGC_FIRMWARE_ARDUPILOT, "vehicleType": QGC_VEHICLE_QUADROTOR,
            "cruiseSpeed": ac.cruise_speed_m_s, "hoverSpeed": ac.cruise_speed_m_s, "globalPlanAltitudeMode": 1,
            "plannedHomePosition": [launch["lat"], launch["lon"], launch["ground_amsl_m"]],
            "items": items,
        },
        "geoFence": {"version": 2, "circles": [], "polygons": polygons},
        "rallyPoints": {"version": 2, "points": [[round(a, 8), round(b, 8), round(c, 2)] for a, b, c in rally]},
    }


def qgc_wpl(sortie: dict) -> str:
    """Mission Planner ``QGC WPL 110`` text: home at seq 0 (AMSL), then the mission items."""
    launch = sortie["launch"]
    lines = ["QGC WPL 110",
             "\t".join(["0", "1", str(MAV_FRAME_GLOBAL), str(MAV_CMD_NAV_WAYPOINT), "0", "0", "0", "0",
                        f"{launch['lat']:.8f}", f"{launch['lon']:.8f}", f"{launch['ground_amsl_m']:.2f}", "1"])]
    for k, it in enumerate(mission_items(sortie), start=1):
        p = [0.0 if v is None else float(v) for v in it["params"]]
        coords = [f"{p[4]:.8f}", f"{p[5]:.8f}", f"{p[6]:.2f}"]
        lines.append("\t".join([str(k), "0", str(it["frame"]), str(it["command"]),
                                *(f"{v:.6g}" for v in p[:4]), *coords, "1"]))
    return "\r\n".join(lines) + "\r\n"


# ---------------------------------------------------------------------------------------
# DJI WPML
# ---------------------------------------------------------------------------------------

def _e(tag: str, value, indent: int) -> str:
    return f"{'  ' * indent}<wpml:{tag}>{escape(str(value))}</wpml:{tag}>"


def _heading_param(indent: int, *, waylines: bool) -> list[str]:
    out = [f"{'  ' * indent}<wpml:waypointHeadingParam>",
           _e("waypointHeadingMode", "followWayline", indent + 1),
           _e("waypointHeadingAngle", 0, indent + 1),
           _e("waypointPoiPoint", "0.000000,0.000000,0.000000", indent + 1)]
    if waylines:
        out.append(_e("waypointHeadingAngleEnable", 0, indent + 1))
    out += [_e("waypointHeadingPathMode", "followBadArc", indent + 1),
            _e("waypointHeadingPoiIndex", 0, indent + 1),
            f"{'  ' * indent}</wpml:waypointHeadingParam>"]
    return out


def _mission_config(sortie: dict, *, template: bool, rth_m: float) -> list[str]:
    ac = get_aircraft(sortie["aircraft"])
    launch = sortie["launch"]
    out = ["    <wpml:missionConfig>",
           _e("flyToWaylineMode", "safely", 3),
           _e("finishAction", "goHome", 3),
           _e("exitOnRCLost", "executeLostAction", 3),
           _e("executeRCLostAction", "goBack", 3),
           _e("takeOffSecurityHeight", 20, 3)]
    if template:
        out += [_e("takeOffRefPoint", f"{launch['lat']:.8f},{launch['lon']:.8f},{launch['ground_amsl_m']:.3f}", 3),
                _e("takeOffRefPointAGLHeight", 0, 3)]
    out += [_e("globalTransitionalSpeed", f"{ac.cruise_speed_m_s:g}", 3),
            _e("globalRTHHeight", f"{rth_m:.0f}", 3),
            "      <wpml:droneInfo>",
            _e("droneEnumValue", ac.dji_drone_enum, 4),
            _e("droneSubEnumValue", ac.dji_drone_sub_enum, 4),
            "      </wpml:droneInfo>",
            _e("waylineAvoidLimitAreaMode", 0, 3),
            "      <wpml:payloadInfo>",
            _e("payloadEnumValue", ac.dji_payload_enum, 4),
            _e("payloadSubEnumValue", 0, 4),
            _e("payloadPositionIndex", 0, 4),
            "      </wpml:payloadInfo>",
            "    </wpml:missionConfig>"]
    return out


def _placemarks(sortie: dict, *, waylines: bool) -> list[str]:
    home = float(sortie["launch"]["ground_amsl_m"])
    wps = [w for w in sortie["waypoints"] if w["action"] not in ("takeoff", "land")]
    out = []
    group = 0
    for i, w in enumerate(wps):
        rel = float(w["alt_amsl_m"]) - home
        out += ["      <Placemark>", "        <Point>", "          <coordinates>",
                f"            {w['lon']:.10f},{w['lat']:.10f}", "          </coordinates>", "        </Point>",
                _e("index", i, 4)]
        if waylines:
            out.append(_e("executeHeight", f"{rel:.3f}", 4))
        else:
            out += [_e("ellipsoidHeight", f"{rel:.3f}", 4), _e("height", f"{rel:.3f}", 4)]
        out.append(_e("waypointSpeed", f"{float(w['speed_m_s']):g}", 4))
        out += _heading_param(4, waylines=waylines)
        turn = "toPointAndStopWithDiscontinuityCurvature"
        out += ["        <wpml:waypointTurnParam>", _e("waypointTurnMode", turn, 5),
                _e("waypointTurnDampingDist", 0, 5), "        </wpml:waypointTurnParam>"]
        if not waylines:
            out += [_e("useGlobalSpeed", 0, 4), _e("useGlobalHeadingParam", 1, 4), _e("useGlobalTurnParam", 0, 4),
                    _e("gimbalPitchAngle", 0, 4)]
        out.append(_e("useStraightLine", 1, 4))
        hold = float(w.get("hold_s") or 0.0)
        if hold > 0:
            out += ["        <wpml:actionGroup>", _e("actionGroupId", group, 5), _e("actionGroupStartIndex", i, 5),
                    _e("actionGroupEndIndex", i, 5), _e("actionGroupMode", "sequence", 5),
                    "          <wpml:actionTrigger>", _e("actionTriggerType", "reachPoint", 6),
                    "          </wpml:actionTrigger>", "          <wpml:action>", _e("actionId", 0, 6),
                    _e("actionActuatorFunc", "hover", 6), "            <wpml:actionActuatorFuncParam>",
                    _e("hoverTime", f"{hold:g}", 7), "            </wpml:actionActuatorFuncParam>",
                    "          </wpml:action>", "        </wpml:actionGroup>"]
            group += 1
        if waylines:
            out += ["        <wpml:waypointGimbalHeadingParam>", _e("waypointGimbalPitchAngle", 0, 5),
                    _e("waypointGimbalYawAngle", 0, 5), "        </wpml:waypointGimbalHeadingParam>"]
        out.append(_e("isRisky", 0, 4))
        if waylines:
            out.append(_e("waypointWorkType", 0, 4))
        out.append("      </Placemark>")
    return out


def rth_height_m(sortie: dict, area, cap_m: float, *, flat: bool = False) -> float:
    """DJI return-to-home height (m above the take-off point): the sortie's top height, lowered so the
    straight way home from every waypoint stays under ``cap_m`` above the ground, and at least DJI's
    20 m minimum (the validator refuses the plan when that is over the cap somewhere)."""
    home = float(sortie["launch"]["ground_amsl_m"])
    inner = [w for w in sortie["waypoints"] if w["action"] not in ("takeoff", "land")]
    rel = np.array([float(w["alt_amsl_m"]) - home for w in inner])
    top = float(np.max(rel)) if len(rel) else 60.0
    if area is None:
        return float(np.clip(top, RTH_MIN_M, cap_m))
    lon = np.array([float(w["lon"]) for w in inner] or [sortie["launch"]["lon"]])
    lat = np.array([float(w["lat"]) for w in inner] or [sortie["launch"]["lat"]])
    t = np.linspace(0.0, 1.0, 21)
    plon = (lon[:, None] + t[None, :] * (float(sortie["launch"]["lon"]) - lon[:, None])).ravel()
    plat = (lat[:, None] + t[None, :] * (float(sortie["launch"]["lat"]) - lat[:, None])).ravel()
    g = np.asarray(area.elevation_m(plon, plat), float)
    g = np.where(np.isfinite(g), g, home)
    highest_allowed = cap_m + float(np.min(g)) - home
    return float(max(min(top, highest_allowed), RTH_MIN_M))


def wpml_files(sortie: dict, *, created_ms: int, rth_m: float | None = None) -> tuple[str, str]:
    """``(template.kml, waylines.wpml)`` texts of one sortie, structured like DJI Pilot 2 exports;
    ``rth_m`` is the return-to-home height above the take-off point (default the top height, 20–120 m)."""
    ac = get_aircraft(sortie["aircraft"])
    if ac.dji_drone_enum is None:
        raise SafetyError(f"{ac.name} is not a DJI aircraft: no WPML export")
    home = float(sortie["launch"]["ground_amsl_m"])
    inner = [w for w in sortie["waypoints"] if w["action"] not in ("takeoff", "land")]
    rel = np.array([float(w["alt_amsl_m"]) - home for w in inner])
    rth = float(np.clip(np.max(rel) if len(rel) else 60.0, RTH_MIN_M, 120.0)) if rth_m is None else float(rth_m)
    speed = float(np.median([float(w["speed_m_s"]) for w in inner])) if inner else ac.cruise_speed_m_s
    head = ['<?xml version="1.0" encoding="UTF-8"?>', f'<kml xmlns="{KML_NS}" xmlns:wpml="{WPML_NS}">', "  <Document>"]
    tpl = head + [_e("author", "ecopatrol", 2), _e("createTime", created_ms, 2), _e("updateTime", created_ms, 2)]
    tpl += _mission_config(sortie, template=True, rth_m=rth)
    tpl += ["    <Folder>", _e("templateType", "waypoint", 3), _e("templateId", 0, 3),
            "      <wpml:waylineCoordinateSysParam>", _e("coordinateMode", "WGS84", 4),
            _e("heightMode", "relativeToStartPoint", 4), "      </wpml:waylineCoordinateSysParam>",
            _e("autoFlightSpeed", f"{speed:g}", 3), _e("globalHeight", f"{float(np.median(rel)) if len(rel) else 60:.1f}", 3),
            _e("caliFlightEnable", 0, 3), _e("gimbalPitchMode", "usePointSetting", 3),
            "      <wpml:globalWaypointHeadingParam>", _e("waypointHeadingMode", "followWayline", 4),
            _e("waypointHeadingAngle", 0, 4), _e("waypointPoiPoint", "0.000000,0.000000,0.000000", 4),
            _e("waypointHeadingPathMode", "followBadArc", 4), _e("waypointHeadingPoiIndex", 0, 4),
            "      </wpml:globalWaypointHeadingParam>",
            _e("globalWaypointTurnMode", "toPointAndStopWithDiscontinuityCurvature", 3),
            _e("globalUseStraightLine", 1, 3)]
    tpl += _placemarks(sortie, waylines=False)
    tpl += ["      <wpml:payloadParam>", _e("payloadPositionIndex", 0, 4), _e("focusMode", "firstPoint", 4),
            _e("meteringMode", "average", 4), _e("returnMode", "singleReturnFirst", 4),
            _e("samplingRate", 240000, 4), _e("scanningMode", "repetitive", 4), "      </wpml:payloadParam>",
            "    </Folder>", "  </Document>", "</kml>"]
    wl = head + _mission_config(sortie, template=False, rth_m=rth)
    wl += ["    <Folder>", _e("templateId", 0, 3), _e("executeHeightMode", "relativeToStartPoint", 3),
           _e("waylineId", 0, 3), _e("distance", f"{float(sortie['distance_m']):.2f}", 3),
           _e("duration", f"{float(sortie['duration_s']):.2f}", 3), _e("autoFlightSpeed", f"{speed:g}", 3)]
    wl += _placemarks(sortie, waylines=True)
    wl += ["    </Folder>", "  </Document>", "</kml>"]
    return "\n".join(tpl) + "\n", "\n".join(wl) + "\n"


def wpml_kmz(sortie: dict, *, created_ms: int, rth_m: float | None = None, files=None) -> bytes:
    """The DJI ``.kmz`` (zip of ``wpmz/template.kml`` and ``wpmz/waylines.wpml``)."""
    tpl, wl = files if files is not None else wpml_files(sortie, created_ms=created_ms, rth_m=rth_m)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("wpmz/template.kml", tpl), ("wpmz/waylines.wpml", wl)):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------
# KML, GeoJSON
# ---------------------------------------------------------------------------------------

def sortie_kml(sortie: dict, zones: list[dict], *, flat: bool = False) -> str:
    """KML: the flight path (absolute heights AMSL; with ``flat``, no DEM: heights above the launch
    point, drawn relative to the ground), the sampling points and the zones."""
    hkey, mode = ("alt_agl_m", "relativeToGround") if flat else ("alt_amsl_m", "absolute")
    coords = " ".join(f"{w['lon']:.8f},{w['lat']:.8f},{w[hkey]:.2f}" for w in sortie["waypoints"])
    sid = escape(sortie["sortie_id"])
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<kml xmlns="{KML_NS}">', "<Document>",
           f"<name>ecopatrol drone sortie {sid}</name>",
           '<Style id="path"><LineStyle><color>ff0000ff</color><width>3</width></LineStyle></Style>',
           '<Style id="zone"><LineStyle><color>ff0000aa</color></LineStyle><PolyStyle><color>440000ff</color></PolyStyle></Style>',
           f"<Placemark><name>{sid} path</name><styleUrl>#path</styleUrl><LineString><altitudeMode>{mode}</altitudeMode>"
           f"<coordinates>{coords}</coordinates></LineString></Placemark>", "<Folder><name>waypoints</name>"]
    for w in sortie["waypoints"]:
        desc = (f"{w['action']} {w['alt_agl_m']:.1f} m AGL, {w['speed_m_s']:g} m/s"
                + (f", target {w['target_id']} pass {w['pass_id']}" if w.get("target_id") else ""))
        out.append(f"<Placemark><name>{w['seq']}</name><description>{escape(desc)}</description><Point>"
                   f"<altitudeMode>{mode}</altitudeMode><coordinates>{w['lon']:.8f},{w['lat']:.8f},"
                   f"{w[hkey]:.2f}</coordinates></Point></Placemark>")
    out.append("</Folder><Folder><name>no-fly and restricted zones</name>")
    for z in zones:
        ring = " ".join(f"{lon:.8f},{lat:.8f},0" for lon, lat in list(z["ring"]) + [z["ring"][0]])
        out.append(f"<Placemark><name>{escape(z['zone_id'])} {escape(z['name'])}</name><styleUrl>#zone</styleUrl>"
                   f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing>"
                   "</outerBoundaryIs></Polygon></Placemark>")
    out += ["</Folder>", "</Document>", "</kml>"]
    return "\n".join(out) + "\n"


def sortie_geojson(sortie: dict) -> dict:
    """GeoJSON FeatureCollection: the path (lon, lat, alt AMSL) and one point per waypoint."""
    wps = sortie["waypoints"]
    feats = [{"type": "Feature", "geometry": {"type": "LineString",
                                              "coordinates": [[w["lon"], w["lat"], w["alt_amsl_m"]] for w in wps]},
              "properties": {"sortie_id": sortie["sortie_id"], "kind": "path", "distance_m": sortie["distance_m"],
                             "duration_s": sortie["duration_s"], "battery_fraction": sortie["battery_fraction"]}}]
    for w in wps:
        props = {k: v for k, v in w.items() if k not in ("lon", "lat")}
        props.update({"sortie_id": sortie["sortie_id"], "kind": "waypoint"})
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [w["lon"], w["lat"], w["alt_amsl_m"]]},
                      "properties": props})
    return {"type": "FeatureCollection", "features": feats}


# ---------------------------------------------------------------------------------------
# summary and the writer
# ---------------------------------------------------------------------------------------

def _zones(area) -> list[dict]:
    """Exterior rings ``[(lon, lat), …]`` (unclosed) of every zone polygon part; ``ceiling_m`` None
    for a zone that allows no flight (written as an exclusion geofence)."""
    import shapely

    out = []
    nf = area.nofly
    if nf is None or not len(nf):
        return out
    nf = nf.to_crs("EPSG:4326")
    for row in nf.itertuples(index=False):
        for part in shapely.get_parts(row.geometry):
            ring = np.asarray(part.exterior.coords)[:-1]
            ceiling = getattr(row, "ceiling_m", None)
            kind = str(getattr(row, "kind", "no-fly") or "no-fly").strip().lower()
            # no flight at all (an exclusion geofence): a no-fly zone, or a ceiling that is missing or 0 m
            none_allowed = kind == "no-fly" or ceiling is None or not math.isfinite(float(ceiling)) \
                or float(ceiling) <= 0.0
            out.append({"zone_id": str(getattr(row, "zone_id", "")), "name": str(getattr(row, "name", "")),
                        "kind": kind, "ceiling_m": None if none_allowed else float(ceiling),
                        "ring": [(float(a), float(b)) for a, b in ring]})
    return out


def summary(plan: dict, report) -> dict:
    """Figures an operator reads before flying."""
    rows = []
    for s in plan["sorties"]:
        w = s["waypoints"]
        hi = max(w, key=lambda r: r["alt_agl_m"])
        rows.append({"sortie_id": s["sortie_id"], "launch": s["launch"]["site_id"], "targets": s["targets"],
                     "waypoints": len(w), "distance_m": s["distance_m"], "duration_s": s["duration_s"],
                     "battery_fraction": s["battery_fraction"],
                     "highest_point": {"alt_agl_m": hi["alt_agl_m"], "alt_amsl_m": max(r["alt_amsl_m"] for r in w),
                                       "seq": hi["seq"], "lon": hi["lon"], "lat": hi["lat"]},
                     "farthest_from_pilot_m": s.get("farthest_from_pilot_m")})
    flat = bool(plan.get("limits", {}).get("flat_ground"))
    return {
        "schema": "ecopatrol.plan-summary/1", "area": plan["area"], "created_utc": plan["created_utc"],
        "planned_for": plan.get("planned_for"),
        "aircraft": plan["aircraft"], "wind": plan["wind"], "limits": plan["limits"],
        "heights": plan.get("heights") or ("heights above the launch point (no DEM)" if flat else "above ground (DEM)"),
        "flat_ground": flat,
        "sorties": rows, "batteries": len(rows),
        "distance_m": round(sum(r["distance_m"] for r in rows), 1),
        "duration_s": round(sum(r["duration_s"] for r in rows), 1),
        "day_s": plan.get("day_s"),
        "highest_alt_agl_m": max((r["highest_point"]["alt_agl_m"] for r in rows), default=0.0),
        "farthest_from_pilot_m": max((r["farthest_from_pilot_m"] or 0.0 for r in rows), default=0.0),
        "checks": {"passed": report.ok(), "errors": [str(p) for p in report.errors],
                   "warnings": [str(p) for p in report.warnings],
                   "checked": ["schema and sequence", "take-off and landing at the launch site",
                               "height cap and minimum height at waypoints and along legs (DEM; refused without "
                               "one unless --flat-ground)",
                               "no-fly and restricted zones (legs and waypoints)", "range from the pilot",
                               "battery minus reserve (recomputed)", "speeds and wind",
                               "every written point: QGC home, mission items, rally points (true height under the "
                               "cap, outside zones, in range), exclusion geofences for every no-fly zone; DJI "
                               "waypoint heights, return-to-home height and aircraft enums"]},
        "targets_dropped": plan.get("targets_dropped", []), "targets_deferred": plan.get("targets_deferred", []),
        "warnings": plan.get("warnings", []),
    }


def summary_text(sm: dict) -> str:
    a = sm["aircraft"]
    lim = sm["limits"]
    lines = []
    if sm.get("flat_ground"):
        lines += ["!" * 100, f"!!! {sm['heights']}", "!" * 100]
    lines += [f"ecopatrol drone plan — area {sm['area']} — {sm['created_utc']}"
              + (f" — for {sm['planned_for']['local']}" if sm.get("planned_for") else ""),
              f"aircraft: {a['name']} (payload {a['payload_kg']:g} kg); wind from {sm['wind']['from_deg']:g}° at "
              f"{sm['wind']['speed_m_s']:g} m/s, stability {sm['wind']['stability']}",
              f"limits: {lim['alt_max_agl_m']:g} m above ground, {lim['max_range_m']:g} m from the pilot, "
              f"{lim['reserve']:.0%} battery reserve"
              + (f", {lim['flight_hours']:g} h of flying today" if lim.get("flight_hours") else ""),
              f"{sm['batteries']} sortie(s) / batteries, {sm['distance_m'] / 1000:.2f} km, "
              f"{sm['duration_s'] / 60:.1f} min in the air"
              + (f", {sm['day_s'] / 3600:.2f} h with battery swaps" if sm.get("day_s") else ""),
              f"highest point {sm['highest_alt_agl_m']:.1f} m above ground; farthest point "
              f"{sm['farthest_from_pilot_m']:.0f} m from the pilot", ""]
    lines.append(f"{'sortie':<7}{'launch':<8}{'km':>7}{'min':>7}{'battery':>9}{'top m':>7}{'far m':>7}  targets")
    for r in sm["sorties"]:
        lines.append(f"{r['sortie_id']:<7}{r['launch']:<8}{r['distance_m'] / 1000:>7.2f}{r['duration_s'] / 60:>7.1f}"
                     f"{r['battery_fraction']:>9.0%}{r['highest_point']['alt_agl_m']:>7.1f}"
                     f"{(r['farthest_from_pilot_m'] or 0):>7.0f}  {', '.join(r['targets'])}")
    c = sm["checks"]
    lines += ["", f"pre-flight checks: {'PASSED' if c['passed'] else 'FAILED'} "
                  f"({len(c['errors'])} errors, {len(c['warnings'])} warnings)"
                  + (" — HEIGHTS ABOVE THE LAUNCH POINT, NOT ABOVE GROUND (no DEM)" if sm.get("flat_ground") else "")]
    lines += [f"  - {p}" for p in c["errors"] + c["warnings"]]
    for d in sm["targets_dropped"]:
        lines.append(f"  dropped {d['target_id']}: {d['reason']}")
    deferred = sm.get("targets_deferred") or []
    if deferred:
        lines.append(f"  {len(deferred)} target(s) left for another day (targets_deferred in plan.json), first: "
                     + "; ".join(f"{d['target_id']} ({d['reason']})" for d in deferred[:3]))
    return "\n".join(lines) + "\n"


def rally_points(sortie: dict, launches: list[tuple[float, float, float]], *, cap_m: float,
                 max_range_m: float, zones: list[dict] | None = None) -> tuple[list[tuple[float, float, float]], list[str]]:
    """Rally points ``(lat, lon, height above home)`` for a sortie, from the plan's launch sites
    ``(lat, lon, ground_amsl_m)``, and a note for each site in range left out.

    Heights are relative to home (as MAVLink rally points are): a site on lower ground than home
    gets a lower height, so that over both home and the rally point the vehicle stays between
    10 m and the cap above ground; sites beyond the pilot's range, or too far below or above
    home for any height to satisfy both, are left out.
    """
    import shapely

    from ecopatrol.core.crs import haversine_m

    from .validate import MIN_RALLY_AGL_M

    HEIGHT_MARGIN_M = 0.5

    launch = sortie["launch"]
    home = float(launch["ground_amsl_m"])
    top = max(float(w["alt_amsl_m"]) for w in sortie["waypoints"]) - home
    want = float(np.clip(top, RTH_MIN_M, cap_m))
    out, notes = [], []
    for lat, lon, ground in launches:
        d = float(haversine_m(launch["lon"], launch["lat"], lon, lat))
        # out of the pilot's reach: not a place to send the vehicle (10 m kept for the difference
        # between this great-circle distance and the validator's metric projection)
        if d > max_range_m - 10.0:
            continue
        dz = float(ground) - home
        lo, hi = max(MIN_RALLY_AGL_M, MIN_RALLY_AGL_M + dz), min(cap_m, cap_m + dz)
        for z in zones or []:  # a site inside a restricted zone: stay under its ceiling there
            if z.get("ceiling_m") is not None and shapely.contains_xy(shapely.Polygon(z["ring"]), lon, lat):
                hi = min(hi, float(z["ceiling_m"]) + dz - HEIGHT_MARGIN_M)
        if lo > hi:
            notes.append(f"launch site at ({lon:.6f}, {lat:.6f}) lies {dz:+.0f} m from {launch['site_id']}'s "
                         f"ground: no rally height keeps both under the {cap_m:g} m cap")
            continue
        out.append((lat, lon, round(float(np.clip(want, lo, hi)), 2)))
    return out, notes


def write_drone_plan(plan, area, out_dir, *, strict: bool = False) -> list[Path]:
    """Validate ``plan`` and write every file into ``out_dir``; return the paths written.

    The plan is checked by the independent validator, then every export is built in memory and
    what it writes is checked again (:func:`~.validate.validate_exports`: home, mission items,
    rally points, geofences, DJI heights and enums). Raises :class:`SafetyError` listing every
    violation if either finds an error (or, with ``strict``, a warning); nothing is written then.
    """
    from .validate import validate_exports

    d = plan if isinstance(plan, dict) else plan.to_dict()
    report = validate_plan(d, area)
    if report.ok(strict=strict):
        zones = _zones(area)
        fence = [z for z in zones if z["ceiling_m"] is None]
        created_ms = 0
        try:
            from datetime import datetime

            created_ms = int(datetime.strptime(d["created_utc"], "%Y-%m-%dT%H:%M:%SZ").timestamp() * 1000)
        except (KeyError, ValueError):
            pass
        lim = d["limits"]
        flat = bool(lim.get("flat_ground"))
        launches = sorted({(s["launch"]["lat"], s["launch"]["lon"], s["launch"]["ground_amsl_m"]) for s in d["sorties"]})
        built, exports, notes = {}, {}, []
        for s in d["sorties"]:
            sid = safe_stem(s["sortie_id"], what="sortie id")  # names the files: never `../x`
            rally, why = rally_points(s, launches, cap_m=float(lim["alt_max_agl_m"]),
                                      max_range_m=float(lim.get("max_range_m", 2000.0)), zones=zones)
            notes += why
            doc = qgc_plan(s, d, fence, rally)
            wpml = None
            if get_aircraft(s["aircraft"]).dji_drone_enum is not None:
                wpml = wpml_files(s, created_ms=created_ms,
                                  rth_m=rth_height_m(s, area, float(lim["alt_max_agl_m"]), flat=flat))
            built[sid] = (s, doc, wpml)
            exports[s["sortie_id"]] = {"qgc": doc, "wpml": wpml[1] if wpml else None,
                                       "fence_zones": sorted({z["zone_id"] for z in fence})}
        report.extend(validate_exports(d, area, exports))
    if not report.ok(strict=strict):
        bad = report.problems if strict else report.errors
        lines = "\n".join(f"  - {p}" for p in bad)
        raise SafetyError.keyed("plan.preflight_failed", n=len(bad), problems=lines)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_plan(d, out / "plan.json")]
    for sid, (s, doc, wpml) in built.items():
        written.append(atomic_write(out / f"{sid}.plan", json.dumps(doc, indent=1)))
        written.append(atomic_write(out / f"{sid}.waypoints", qgc_wpl(s)))
        if wpml is not None:
            written.append(atomic_write(out / f"{sid}.kmz", wpml_kmz(s, created_ms=created_ms, files=wpml)))
        written.append(atomic_write(out / f"{sid}.kml", sortie_kml(s, zones, flat=flat)))
        written.append(atomic_write(out / f"{sid}.geojson", json.dumps(sortie_geojson(s), ensure_ascii=False)))
    sm = summary(d, report)
    sm["rally_notes"] = notes
    written.append(atomic_write(out / "summary.json", json.dumps(sm, indent=1, ensure_ascii=False)))
    written.append(atomic_write(out / "summary.txt", summary_text(sm)))
    log.info("wrote drone plan to %s: %d sorties, %d files, checks passed (%d warnings)", out, len(d["sorties"]),
             len(written), len(report.warnings))
    return written
