"""Every import points down: ecopatrol → maps → missions, processing → core."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {"core": set(), "missions": {"core"}, "processing": {"core"},
          "maps": {"core", "missions", "processing"}, "ecopatrol": {"core", "missions", "processing", "maps"}}
DIRS = {"core": "core", "missions": "missions", "processing": "processing", "maps": "maps", "ecopatrol": "ecopatrol"}


def _project_imports(path: Path, package: str):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel_parts = path.relative_to(ROOT / DIRS[package]).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                depth = len(rel_parts) + 1 - node.level  # 0 = the floor's own package
                if depth < 0:
                    names = [f"ecopatrol.{node.module or ''}"]
                else:
                    continue  # relative import inside the same floor
            else:
                names = [node.module or ""]
        else:
            continue
        for n in names:
            parts = n.split(".")
            if parts[0] == "ecopatrol" and len(parts) > 1 and parts[1] in FLOORS:
                yield parts[1], node.lineno
            elif parts[0] == "ecopatrol" and package != "ecopatrol":
                yield "ecopatrol", node.lineno


@pytest.mark.parametrize("package", list(FLOORS))
def test_imports_point_down(package):
    bad = []
    for path in sorted((ROOT / DIRS[package]).rglob("*.py")):
        for target, line in _project_imports(path, package):
            if target != package and target not in FLOORS[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports ecopatrol.{target}")
    assert not bad, "\n".join(bad)


def test_no_test_module_imports_another():
    """Shared factories live in helper modules (``*_support.py``, ``plume_world.py``, conftest), so each
    test module stands alone and runs alone."""
    import re

    here = Path(__file__).parent
    bad = [f"{p.name}: {m.group(0).strip()}" for p in sorted(here.glob("test_*.py"))
           for m in re.finditer(r"^\s*(from|import)\s+test_\w+", p.read_text(encoding="utf-8"), re.M)]
    assert not bad, bad


def test_every_benchmark_script_is_run_by_make_bench():
    """``make bench`` runs benchmarks/run_all.py, which lists every script that exists (and only those)."""
    import importlib.util

    here = Path(__file__).resolve().parents[1] / "benchmarks"
    spec = importlib.util.spec_from_file_location("run_all", here / "run_all.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    listed = {s for s, _, _ in mod.BENCHMARKS}
    present = {p.name for p in here.glob("*.py")} - {"run_all.py"} - set(mod.TOOLS)
    assert listed == present
    assert all((here / t).exists() for t in mod.TOOLS)
    assert "benchmarks/run_all.py" in (here.parent / "Makefile").read_text(encoding="utf-8")


def _floor_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FLOORS and parts[1] != "ecopatrol" else "ecopatrol"


@pytest.mark.parametrize("package", list(FLOORS))
def test_one_import_style(package):
    """One import style: relative imports stay inside their own floor (``from .attribution import …``,
    ``from ..readers import …``); another floor is imported by its absolute name
    (``from ecopatrol.core.errors import …``), so the layering is visible at a glance."""
    base = ["ecopatrol"] if package == "ecopatrol" else ["ecopatrol", package]
    bad = []
    for path in sorted((ROOT / DIRS[package]).rglob("*.py")):
        rel = list(path.relative_to(ROOT / DIRS[package]).with_suffix("").parts)
        here = base + (rel[:-1] if rel[-1] != "__init__" else rel[:-1])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level and node.module:
                target = here[:len(here) - (node.level - 1)] + node.module.split(".")
                if _floor_of(".".join(target)) != package:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} from {'.' * node.level}{node.module}: "
                               f"write from {'.'.join(target)}")
    assert not bad, "\n".join(bad)
