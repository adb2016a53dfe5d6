"""The small twins have one home each: the XML-safety guard (core/safe_xml.py), the OSM reader
(core/osm.py), the bounded JSON reader (core/io.py) and the atomic writers (core/io.py)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("core", "processing", "missions", "maps", "ecopatrol")


def _where(pattern: str) -> list[str]:
    rx = re.compile(pattern, re.M)
    return sorted(str(p.relative_to(REPO)) for d in PACKAGE_DIRS for p in (REPO / d).rglob("*.py")
                  if rx.search(p.read_text(encoding="utf-8")))


def test_one_xml_safety_guard():
    assert _where(r"^\s*(from|import) defusedxml") == ["core/safe_xml.py"]


def test_one_osm_reader():
    assert _where(r"^\s*import osmium") == ["core/osm.py"]


def test_one_bounded_json_reader_and_no_second_plan_reader():
    assert _where(r"parse_constant=") == ["core/io.py"]
    assert _where(r"def read_plan_file\b") == []


def test_one_atomic_write_helper():
    assert _where(r"os\.replace\(") == ["core/io.py"]
    assert _where(r"def (write_gpkg|write_csv|write_with|atomic_write)\b") == ["core/io.py"]
