"""The suite and its tools cannot pass by accident: `make bench` runs a script that exists, and
test helpers live in tests/ (the package holds no module that only tests use)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: source folder → package name (pyproject ``package-dir``)
PACKAGES = {"ecopatrol": "ecopatrol", "core": "ecopatrol.core", "missions": "ecopatrol.missions",
            "processing": "ecopatrol.processing", "maps": "ecopatrol.maps"}
#: package modules no other package module imports, and why they still belong to the package
NOT_IMPORTED_BY_DESIGN = {
    "ecopatrol.__main__": "`python -m ecopatrol`",
    "ecopatrol.core.db.migrations": "alembic migration scripts, loaded by path by core.db",
    "ecopatrol.core.db.migrations.env": "alembic migration scripts, loaded by path by core.db",
    "ecopatrol.core.db.migrations.versions": "alembic migration scripts, loaded by path by core.db",
    "ecopatrol.core.db.migrations.versions.0001_hj212": "alembic migration scripts, loaded by path by core.db",
    "ecopatrol.core.db.migrations.versions.0002_ledger": "alembic migration scripts, loaded by path by core.db",
    "ecopatrol.core.db.migrations.versions.0003_packed_records": "alembic migration scripts, loaded by path by core.db",
    "ecopatrol.core.data": "data files (the shipped emission limits), read by path by core.limits",
    "ecopatrol.processing.monitor.replay": "simulated HJ 212 data loggers, the load of benchmarks/bench_monitor.py",
    "ecopatrol.missions.month": "the simulated month's world (arrivals, duty cycles, fixes), run by benchmarks/bench_month.py",
    "ecopatrol.processing.monitor._alarm_rules_loop": "the alarm rules before vectorising: the named baseline of "
                                                      "benchmarks/bench_alarms.py (and the identity test)",
    "ecopatrol.processing.monitor._power_rules_loop": "the electricity rules before vectorising: the named baseline "
                                                      "of benchmarks/bench_alarms.py (and the identity test)",
}


def _recipe(makefile: str, target: str) -> list[str]:
    lines = makefile.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^{target}\s*:", line))
    out = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        out.append(line.strip())
    return out


def test_make_bench_calls_a_script_that_exists():
    recipe = _recipe((ROOT / "Makefile").read_text(encoding="utf-8"), "bench")
    scripts = [tok for line in recipe for tok in line.split() if tok.endswith(".py")]
    assert scripts, recipe
    missing = [s for s in scripts if not (ROOT / s).is_file()]
    assert not missing, f"make bench calls {missing}, which do not exist"


def _package_modules() -> dict[str, Path]:
    mods = {}
    for folder, pkg in PACKAGES.items():
        for p in (ROOT / folder).rglob("*.py"):
            if ".venv" in p.parts:
                continue
            parts = p.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((pkg, *parts))
            mods[name.removesuffix(".__init__")] = p
    return mods


def _names_imported(name: str, path: Path) -> set[str]:
    """Modules ``path`` imports (absolute names, relative imports resolved), plus dotted string
    constants (``importlib.import_module("…")``, entry-point strings)."""
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = ".".join(base[:len(base) - node.level + 1] + [node.module or ""]).strip(".") if node.level \
                else node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"[\w.]+", node.value):
            out.add(node.value)
    return out


def test_every_package_module_is_used_by_the_package():
    """A module that only tests import is a test helper: it lives in tests/ (``*_support.py``)."""
    mods = _package_modules()
    imported = set().union(*(_names_imported(n, p) for n, p in mods.items()))
    entry = re.findall(r'=\s*"([\w.]+):', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    imported.update(entry)

    def used(name: str) -> bool:
        return any(i == name or i.startswith(name + ".") for i in imported)

    orphans = sorted(n for n in mods if not used(n) and n not in NOT_IMPORTED_BY_DESIGN)
    assert not orphans, f"package modules nothing in the package imports (move test helpers to tests/): {orphans}"
    stale = sorted(n for n in NOT_IMPORTED_BY_DESIGN if n not in mods)
    assert not stale, f"NOT_IMPORTED_BY_DESIGN names modules that no longer exist: {stale}"
