"""Map and report size/time on a realistic folder: the Jimo area and millions of samples.

Baseline (same run): the naive display of every sample as one GeoJSON point feature
(what folium.GeoJson of the raw samples would embed), measured on the same samples.
Usage: python benchmarks/bench_maps.py [N_SAMPLES]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_maps_support import make_output_folder  # noqa: E402

from ecopatrol.maps import build_map, build_report  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    try:
        from ecopatrol.core.area import load_area

        area = load_area("jimo")
    except Exception:  # area API not available: the small fixture area
        area = None
    with TemporaryDirectory() as d:
        folder, fake = make_output_folder(Path(d), n_samples=n)
        area = area or fake
        import pandas as pd

        s = pd.read_parquet(folder / "samples" / "samples.parquet", columns=["lon", "lat", "tvoc_ugm3"])
        t0 = time.perf_counter()
        k = min(len(s), 200_000)
        naive = json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": {"v": v}}
            for x, y, v in s.head(k).itertuples(index=False)]})
        naive_mb = len(naive) / 1e6 * len(s) / k
        t_naive = (time.perf_counter() - t0) * len(s) / k
        res = {}
        for label, kw in (("online osm", {}), ("offline none", {"offline": True, "basemap": "none"}),
                          ("amap", {"basemap": "amap"})):
            t0 = time.perf_counter()
            p = build_map(folder, out=Path(d) / "map.html", area=area, **kw)
            res[label] = (p.stat().st_size / 1e6, time.perf_counter() - t0)
        t0 = time.perf_counter()
        r = build_report(folder, out=Path(d) / "report.html", area=area)
        rep = (r.stat().st_size / 1e6, time.perf_counter() - t0)
    print(f"samples: {n:,}; enterprises: {len(area.enterprises)}")
    print(f"baseline naive GeoJSON of every sample: {naive_mb:.1f} MB, ~{t_naive:.1f} s to serialise")
    for label, (mb, sec) in res.items():
        print(f"map {label:13s}: {mb:6.2f} MB in {sec:5.1f} s  (size ratio vs baseline {mb / naive_mb:.4f})")
    print(f"report       : {rep[0]:6.2f} MB in {rep[1]:5.1f} s")


if __name__ == "__main__":
    main()
