"""The small twins have one home each: the XML-safety guard (core/safe_xml.py), the OSM reader
(core/osm.py), the bounded JSON reader (core/io.py), the atomic writers (core/io.py) and the readers of
``evidence.json``, ``plan.json`` and ``targets.csv`` (core/artefacts)."""

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


ARTEFACT_FILES = ("evidence.json", "plan.json", "targets.csv")
PARSERS = ("loads", "load", "read_csv", "read_json")


def _private_artefact_readers() -> list[str]:
    """``file:function`` of every package function outside core/artefacts that names one of
    :data:`ARTEFACT_FILES` and parses JSON or CSV itself (``json.load(s)``, ``pd.read_csv``…)."""
    import ast

    found = []
    for d in PACKAGE_DIRS:
        for p in sorted((REPO / d).rglob("*.py")):
            rel = str(p.relative_to(REPO))
            if rel.startswith("core/artefacts/"):
                continue
            for fn in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                names = {n.value.rsplit("/", 1)[-1] for n in ast.walk(fn)
                         if isinstance(n, ast.Constant) and isinstance(n.value, str)}
                parses = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                             and n.func.attr in PARSERS for n in ast.walk(fn))
                if parses and names & set(ARTEFACT_FILES):
                    found.append(f"{rel}:{fn.name}")
    return found


def test_evidence_plan_and_targets_are_read_only_by_core_artefacts():
    assert _private_artefact_readers() == []
