import json

import numpy as np
import pandas as pd
import pytest

from ecopatrol.core.area import export_area, load_area
from ecopatrol.core.errors import InputFileNotFoundError, ValidationError


def test_jimo_example_matches_the_brief(jimo):
    e = jimo.enterprises
    assert 800 <= len(e) <= 900
    assert int(e["positive_list"].sum()) == 664
    assert jimo.config["synthetic"] is True
    parks = e["park"][e["park"] != ""].unique()
    assert 5 <= len(parks) <= 8 and all("synthetic" in p for p in parks)
    top = e["industry"].value_counts().index[:4]
    assert {"packaging printing", "textile dyeing"} <= set(top)
    h = jimo.sources["height_m"]
    assert h.min() >= 8 and h.max() <= 60
    assert len(jimo.launch_sites) >= 3 and len(jimo.depot) == 1
    assert set(jimo.nofly["kind"]) == {"no-fly", "restricted"}
    assert jimo.report.ok(strict=True)
    # centred on Jimo
    assert e.geometry.x.median() == pytest.approx(120.45, abs=0.08)
    assert e.geometry.y.median() == pytest.approx(36.39, abs=0.08)


def test_jimo_registry_stores_some_rows_in_gcj02(jimo):
    raw = pd.read_csv(jimo.path / "registry.csv")
    assert (raw["crs"] == "gcj02").mean() > 0.2
    # loaded points are WGS-84: the stored GCJ-02 rows moved back by the offset
    row = raw[raw["crs"] == "gcj02"].iloc[0]
    loaded = jimo.enterprise(row["enterprise_id"]).geometry
    assert abs(loaded.x - row["lon"]) > 1e-4


def test_jimo_roads_are_osm_xml_with_a_few_thousand_nodes(jimo):
    text = jimo.roads_path.read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "<osm" in text
    n_nodes = text.count("<node ")
    assert 2000 <= n_nodes <= 20000
    assert 'k="oneway"' in text and 'k="name"' in text


def test_jimo_is_deterministic(tmp_path):
    from ecopatrol.core.example import generate_jimo

    a = generate_jimo(tmp_path / "a")
    b = generate_jimo(tmp_path / "b")
    for name in ("registry.csv", "sources.csv", "roads.osm", "nofly.geojson", "area.toml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_dem_has_gentle_relief_and_covers_the_area(jimo):
    e = jimo.enterprises
    z = jimo.elevation_m(e.geometry.x.to_numpy(), e.geometry.y.to_numpy())
    assert np.isfinite(z).all()
    assert 0 < z.min() and z.max() < 400
    assert np.isnan(jimo.elevation_m([130.0], [30.0]))[0]


def test_export_and_check_round_trip(tmp_path, jimo):
    out = export_area("jimo", tmp_path / "area")
    a = load_area(out)
    assert len(a.enterprises) == len(jimo.enterprises)
    assert a.report.ok(strict=True)
    np.testing.assert_allclose(a.enterprises.geometry.x, jimo.enterprises.geometry.x)


def test_area_collects_problems_from_every_part(tmp_path):
    out = export_area("jimo", tmp_path / "area")
    fc = json.loads((out / "nofly.geojson").read_text())
    fc["features"][0]["properties"]["kind"] = "forbidden"
    (out / "nofly.geojson").write_text(json.dumps(fc))
    reg = (out / "registry.csv").read_text(encoding="utf-8").splitlines()
    cols = reg[1].split(",")
    cols[3], cols[4] = cols[4], cols[3]  # swap lon/lat of row 2
    reg[1] = ",".join(cols)
    (out / "registry.csv").write_text("\n".join(reg) + "\n", encoding="utf-8")
    (out / "dem.tif").unlink()
    with pytest.raises(ValidationError) as exc:
        load_area(out)
    msg = str(exc.value)
    assert "nofly.geojson" in msg and "kind" in msg
    assert "registry.csv" in msg and "row 2" in msg and "swapped" in msg
    a = load_area(out, raise_on_error=False)
    assert any("dem.tif" in str(w) for w in a.report.warnings)


def test_missing_area_folder(tmp_path):
    with pytest.raises(InputFileNotFoundError, match="not a folder"):
        load_area(tmp_path / "nope")


def test_area_without_registry(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(InputFileNotFoundError, match="no registry"):
        load_area(tmp_path / "a")
