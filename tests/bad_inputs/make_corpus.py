"""Write the bad-input corpus into ``tests/bad_inputs/files/`` (deterministic; run it after changing it).

    .venv/bin/python tests/bad_inputs/make_corpus.py

Every file is small and made from scratch (``seeds.py``), broken on purpose; README.md
lists each one and what ecopatrol must do with it. ``tests/test_hardening.py`` runs them
all through the CLI.
"""

from __future__ import annotations

import io
import math
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import seeds  # noqa: E402

OUT = HERE / "files"


def _w(name: str, data: bytes | str) -> None:
    p = OUT / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def _gpx(points) -> str:
    body = "".join(f'<trkpt lat="{lat:.6f}" lon="{lon:.6f}"><time>{seeds._iso(t)}</time></trkpt>' for t, lon, lat in points)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="bad-inputs" '
            f'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{body}</trkseg></trk></gpx>\n')


def track_points(n: int = 400):
    """A van track of ``n`` s at 1 Hz going north at ~1 m/s from (LON0, LAT0)."""
    return [(seeds.T0_UNIX + i, seeds.LON0, seeds.LAT0 + i * 1e-5) for i in range(n)]


def analyser_rows(n: int = 330, start_s: int = 30):
    """Analyser rows (Asia/Shanghai local time) with one plume in the middle."""
    import datetime as dt

    tz8 = dt.timezone(dt.timedelta(hours=8))
    rows = []
    for i in range(n):
        t = dt.datetime.fromtimestamp(seeds.T0_UNIX + start_s + i, tz8).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(f"{t},{100 + 80 * math.exp(-((i - n / 2) / 15) ** 2):.1f},1.0,OK")
    return rows


ANALYSER_HEADER = "Time,TVOC(ug/m3),Benzene(ppb),Status"
REG_HEADER = "enterprise_id,name,industry,lon,lat,positive_list,airspace"


def registry_rows():
    return [f"E{i:03d},企业{i},packaging printing,{seeds.LON0 + i * 0.01:.6f},{seeds.LAT0 + i * 0.005:.6f},否,free"
            for i in range(1, 6)]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    # --- empty and truncated logs
    for ext in (".bin", ".tlog", ".ulg", ".gpx", ".nmea", ".csv", ".dat"):
        _w(f"empty{ext}", b"")
    _w("truncated_header.bin", seeds.dataflash_bin()[:40])
    _w("truncated_header.tlog", seeds.tlog()[:20])
    _w("truncated_header.ulg", seeds.ulog()[:12])
    _w("truncated_mid.tlog", seeds.tlog(40)[: len(seeds.tlog(40)) * 2 // 3])  # crash mid-flight: partial read
    _w("truncated_mid.bin", seeds.dataflash_bin(40)[:-7])
    _w("truncated.gpx", seeds.gpx()[:-60])  # cut inside the XML
    # --- binary garbage with every extension
    rnd = bytes((i * 7919 + 13) % 251 for i in range(4096))
    for ext in (".bin", ".tlog", ".ulg", ".gpx", ".nmea", ".csv", ".dat", ".log", ".txt"):
        _w(f"garbage{ext}", rnd)
    # --- swapped or missing columns
    lines = seeds.analyser_csv().decode().splitlines()
    _w("analyser_no_time.csv", "\n".join(",".join(r.split(",")[1:]) for r in lines) + "\n")
    _w("analyser_time_not_first.csv", "\n".join(",".join(r.split(",")[1:2] + r.split(",")[:1] + r.split(",")[2:])
                                                for r in lines) + "\n")
    _w("analyser_extra_fields.csv", "\n".join(lines[:4] + [lines[4] + ",9,9"] + lines[5:]) + "\n")
    dji = seeds.dji_csv().decode().splitlines()
    _w("dji_no_latitude.csv", "\n".join(",".join(c for j, c in enumerate(r.split(",")) if j != 2) for r in dji) + "\n")
    swapped = [dji[0]] + [",".join(f[:2] + [f[3], f[2]] + f[4:]) for f in (r.split(",") for r in dji[1:])]
    _w("dji_lat_lon_swapped.csv", "\n".join(swapped) + "\n")
    reg = registry_rows()
    _w("registry_lat_lon_swapped.csv", "\n".join(
        [REG_HEADER] + [",".join(f[:3] + [f[4], f[3]] + f[5:]) for f in (r.split(",") for r in reg)]) + "\n")
    _w("registry_missing_lat.csv", "\n".join(",".join(c for j, c in enumerate(r.split(",")) if j != 4)
                                             for r in [REG_HEADER, *reg]) + "\n")
    # registry rows in several CRS, no `crs` column: degrees, CGCS2000 3° Gauss-Krüger metres, DMS text
    mixed = reg[:2] + ["E003,企业3,packaging printing,40543210.5,4027512.3,否,free",
                       "E004,企业4,packaging printing,120°27'00\",36°22'48\",否,free", reg[4]]
    _w("registry_mixed_crs.csv", "\n".join([REG_HEADER, *mixed]) + "\n")
    # the whole registry in projected metres (UTM 51N) given as lon/lat
    _w("registry_projected_metres.csv", "\n".join(
        [REG_HEADER] + [f"E{i:03d},企业{i},textile dyeing,{240000 + i * 900:.1f},{4030000 + i * 550:.1f},否,free"
                        for i in range(1, 6)]) + "\n")
    # --- duplicated and backwards timestamps
    pts = track_points()
    dup_pts = pts[:200] + [pts[150]] + [(pts[200][0], seeds.LON0 + 0.5, seeds.LAT0)] + pts[200:300] + pts[100:110] + pts[300:]
    _w("track_dup_backwards.gpx", _gpx(dup_pts))
    _w("track.gpx", _gpx(pts))
    nm = seeds.nmea(20).decode().splitlines()
    _w("nmea_dup_backwards.nmea", "\r\n".join(nm[:10] + nm[8:10] + nm[2:4] + nm[10:]) + "\r\n")
    ar = analyser_rows()
    _w("analyser_dup_backwards.csv", "\n".join([ANALYSER_HEADER] + ar[:100] + [ar[99], ar[99]] + ar[100:250]
                                               + ar[50:60] + ar[250:]) + "\n")
    _w("analyser.csv", "\n".join([ANALYSER_HEADER, *ar]) + "\n")
    # --- XML attacks
    laughs = "".join(f'<!ENTITY l{k} "{"".join(f"&l{k - 1};" for _ in range(10))}">' for k in range(1, 10))
    _w("gpx_billion_laughs.gpx", f'<?xml version="1.0"?>\n<!DOCTYPE gpx [<!ENTITY l0 "lol">{laughs}]>\n'
       '<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>&l9;</name><trkseg>'
       f'<trkpt lat="{seeds.LAT0}" lon="{seeds.LON0}"><time>{seeds._iso(seeds.T0_UNIX)}</time></trkpt>'
       "</trkseg></trk></gpx>\n")
    pad = "<!-- gpx " + "x" * 5000 + " -->\n"  # pushes the DOCTYPE past the first 4 kB
    _w("gpx_xxe.gpx", f'<?xml version="1.0"?>\n{pad}<!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
       '<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>&x;</name><trkseg>'
       f'<trkpt lat="{seeds.LAT0}" lon="{seeds.LON0}"><time>{seeds._iso(seeds.T0_UNIX)}</time></trkpt>'
       "</trkseg></trk></gpx>\n")
    _w("roads_billion_laughs.osm", f'<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY l0 "lol">{laughs}]>\n'
       '<osm version="0.6"><node id="1" lat="36.38" lon="120.45"><tag k="name" v="&l9;"/></node>'
       '<node id="2" lat="36.39" lon="120.45"/><way id="3"><nd ref="1"/><nd ref="2"/>'
       '<tag k="highway" v="residential"/></way></osm>\n')
    _w("roads_xxe.osm", '<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
       '<osm version="0.6"><node id="1" lat="36.38" lon="120.45"><tag k="name" v="&x;"/></node></osm>\n')
    # --- an OSM file with no roads (footways and buildings only)
    _w("roads_none.osm", '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="bad-inputs">\n'
       + "".join(f'<node id="{i}" lat="{36.38 + i * 1e-3:.4f}" lon="120.45"/>\n' for i in range(1, 5))
       + '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way>\n'
       + '<way id="11"><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="2"/><tag k="building" v="yes"/></way>\n</osm>\n')
    # --- a DEM that does not cover the area (a 10×10 tile near Beijing)
    _dem_elsewhere(OUT / "dem_elsewhere.tif")
    # --- KMZ attacks
    _w("kmz_traversal.kmz", _zip({"wpmz/template.kml": b"<kml/>", "../../evil.txt": b"owned"}))
    _w("kmz_bomb.kmz", _bomb())
    # --- a plan whose sortie id would write outside the output folder
    import json
    plan = {"schema": "ecopatrol.plan/1", "kind": "drone", "sorties": [{
        "sortie_id": "../../evil", "aircraft": "generic",
        "launch": {"lon": seeds.LON0, "lat": seeds.LAT0, "ground_amsl_m": 10.0},
        "waypoints": [{"lon": seeds.LON0 + k * 1e-4, "lat": seeds.LAT0, "alt_agl_m": 50.0, "speed_m_s": 5.0}
                      for k in range(5)]}]}
    _w("plan_traversal_sortie.json", json.dumps(plan, indent=1))
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total / 1024:.0f} KB, to {OUT}")


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _bomb() -> bytes:
    """A KMZ whose one member unpacks to 60 MB of zeros from ~60 kB (a 1000:1 zip bomb)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        info = zipfile.ZipInfo("wpmz/waylines.wpml", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as fh:
            chunk = bytes(1 << 20)
            for _ in range(60):
                fh.write(chunk)
    return buf.getvalue()


def _dem_elsewhere(path: Path) -> None:
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    z = np.full((10, 10), 50.0, dtype="float32")
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(116.30, 39.95, 0.001, 0.001), nodata=-9999.0) as ds:
        ds.write(z, 1)


if __name__ == "__main__":
    main()
