"""Every in-memory area of the tests is a ``tests/area_support.MemoryArea`` (checked to satisfy
:class:`ecopatrol.core.area.AreaLike` on creation), and the package keeps no fake area of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ecopatrol.core.area import AreaLike

from area_support import MemoryArea

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("core", "processing", "missions", "maps", "ecopatrol")


def _area_classes(files) -> list[str]:
    """``file:Class`` of every class that sets an ``enterprises`` field and a ``config`` or
    ``sources`` one (annotated, or ``self.X = …``): what an area-like class looks like."""
    out = []
    for p in files:
        for cls in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if not isinstance(cls, ast.ClassDef):
                continue
            names = {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
            names |= {t.attr for n in ast.walk(cls) if isinstance(n, ast.Assign) for t in n.targets
                      if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"}
            if "enterprises" in names and names & {"config", "sources"}:
                out.append(f"{p.relative_to(REPO)}:{cls.name}")
    return sorted(out)


def test_the_tests_define_one_area_class_and_the_package_one():
    assert _area_classes(sorted((REPO / "tests").glob("*.py"))) == ["tests/area_support.py:MemoryArea"]
    package = [p for d in PACKAGE_DIRS for p in sorted((REPO / d).rglob("*.py"))]
    # the area, its protocol, and the registry (enterprises and sources, not an area)
    assert _area_classes(package) == ["core/area.py:Area", "core/area.py:AreaLike", "core/registry.py:Registry"]


def test_every_fake_area_is_a_checked_memory_area(tmp_path):
    import drone_support
    import maps_support
    import plume_world
    import sim_support

    for area in (sim_support.make_area(), plume_world.make_area(), drone_support.toy_area(),
                 maps_support.make_area(tmp_path)):
        assert isinstance(area, MemoryArea) and isinstance(area, AreaLike), type(area)
        assert area.metric_crs.is_projected


def test_a_fake_missing_a_field_is_refused():
    import geopandas as gpd

    ent = gpd.GeoDataFrame({"enterprise_id": ["E1"]}, geometry=gpd.points_from_xy([120.45], [36.39]), crs=4326)
    with pytest.raises(TypeError, match="missing sources"):
        MemoryArea(enterprises=ent, sources=None)
    with pytest.raises(TypeError, match="missing metric_crs"):
        MemoryArea(enterprises=ent.iloc[:0], sources=ent.iloc[:0])
    a = MemoryArea(enterprises=ent, sources=ent.iloc[:0])
    assert a.metric_crs.to_epsg() == 32651 and a.config == {}
