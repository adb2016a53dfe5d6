"""Runs that can be repeated (issue 20 item 4): ``ecopatrol demo``, ``georef``, ``hotspots`` and
``targets`` killed with SIGKILL at seeded random moments leave no half-written output, and running
the same command again completes with outputs identical to an uninterrupted run.

After a kill every output file present must already equal the uninterrupted run's (a half-written
one would not); only atomic_path's hidden temporary files (``.name.XXXXXXXX.tmp.ext``) may be left,
and the rerun removes them. Outputs are compared by SHA-256 after removing what legitimately
differs between two uninterrupted runs: the run's own timestamps (``created_utc`` of plans and
their DJI ``createTime``, GeoPackage ``last_change``, the report's "made at"), the output folder's
path (``evidence.json`` ``area_path``, the report), and per-process element ids (folium map ids,
matplotlib SVG clip ids). The kills come one after the other on the same folder (the second
kills a rerun over the first's leftovers), then one rerun to the end: two kill points for the demo
(about three demo runs in all, ~20 s each alone), three for the others.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest

from ecopatrol.core.io import is_temp_name

TEXT = {".json", ".txt", ".html", ".csv", ".geojson", ".kml", ".plan", ".waypoints", ".wpml", ".toml", ".osm",
        ".gpx", ".nmea", ".md"}


def _days():
    now = datetime.now(UTC)
    local = now + timedelta(hours=8)  # the example's zone (Asia/Shanghai): the report's local time
    return sorted({d.strftime("%Y-%m-%d") for d in (now, now - timedelta(days=1), local)})


def normalise_text(text: str, out: Path) -> str:
    for p in {str(out.resolve()), str(out)}:
        text = text.replace(p, "<OUT>")
    days = "|".join(_days())
    text = re.sub(rf"(?:{days})[T ]\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?Z?", "<T>", text)
    now_ms = int(time.time() * 1000)
    text = re.sub(r"\b1\d{12}\b", lambda m: "<T>" if abs(int(m.group()) - now_ms) < 3 * 86400_000 else m.group(), text)
    text = re.sub(r"\b([a-z_]+)_[0-9a-f]{32}(?![0-9a-f])", r"\1_<id>", text)  # folium element ids
    text = re.sub(r"\b([a-z])\d{12,}\b", r"\1<id>", text)  # matplotlib SVG ids (id() of objects)
    return re.sub(r"\d{2}:\d{2}(，)", r"<T>\1", text)  # the report's local "made at HH:MM，"


#: columns of the monitoring database that hold when a run ingested (not what it ingested)
DB_RUN_TIMES = {"received_utc", "last_received_utc", "first_seen_utc", "last_seen_utc", "started_utc", "finished_utc",
                "updated_utc", "recorded_utc"}


def digest(path: Path, out: Path) -> str:
    """SHA-256 of ``path`` with what legitimately differs between runs removed (module docstring)."""
    h = hashlib.sha256()
    suf = path.suffix.lower()
    if suf in TEXT:
        h.update(normalise_text(path.read_bytes().decode("utf-8-sig"), out).encode())
    elif suf == ".kmz":
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as z:
            for name in sorted(z.namelist()):
                h.update(name.encode())
                h.update(normalise_text(z.read(name).decode("utf-8"), out).encode())
    elif suf == ".db":  # the demo's monitor.db: its rows, without the moments of ingest and the folder's path
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in con.execute("select name from sqlite_master where type='table' order by name")]
            for t in tables:
                cols = [r[1] for r in con.execute(f'pragma table_info("{t}")')]
                sel = ", ".join("NULL" if c in DB_RUN_TIMES else f'"{c}"' for c in cols)
                for row in con.execute(f'select {sel} from "{t}" order by rowid'):
                    h.update(normalise_text(repr(row), out).encode())
        finally:
            con.close()
    elif suf == ".gpkg":
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in con.execute("select name from sqlite_master where type='table' order by name")]
            for t in tables:
                if t.startswith("rtree_"):
                    continue  # the spatial index, derived from the table
                cols = [r[1] for r in con.execute(f'pragma table_info("{t}")')]
                sel = ", ".join("NULL" if c == "last_change" else f'"{c}"' for c in cols)
                for row in con.execute(f'select {sel} from "{t}" order by rowid'):
                    h.update(repr(row).encode())
        finally:
            con.close()
    else:
        h.update(path.read_bytes())
    return h.hexdigest()


def snapshot(out: Path) -> tuple[dict[str, str], list[str]]:
    """({relative path: digest} of every output, [temporary files left])."""
    files, temps = {}, []
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        rel = str(p.relative_to(out))
        if p.name.endswith((".db-shm", ".db-wal")):
            continue  # SQLite's own side files of a database a killed process had open: SQLite recovers them
        if is_temp_name(p.name):
            temps.append(rel)
        else:
            files[rel] = digest(p, out)
    return files, temps


def cli(*args) -> list[str]:
    """The command line, in one language whatever the environment (the module-scoped reference run
    starts before the tests' ``ECOPATROL_LANG`` fixture, so the language is given here)."""
    return [sys.executable, "-m", "ecopatrol", *map(str, args), "--lang", "en"]


def run(args, timeout=600) -> float:
    t0 = time.monotonic()
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return time.monotonic() - t0


def kill_at(args, after_s: float) -> bool:
    """Start ``args`` and SIGKILL it ``after_s`` seconds later; True when it was still running."""
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        p.wait(timeout=after_s)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return True


def check_kill_and_rerun(make_args, ref_out: Path, work: Path, n_points: int, seed: int, t_ref: float,
                         out_of=lambda d: d) -> list[float]:
    """Kill ``make_args(dest)`` at ``n_points`` seeded moments of its uninterrupted duration, one
    after the other on the same folder (the second kills a run over the first's leftovers), check
    the leftovers after each, then rerun to the end and compare with ``ref_out``. Returns the kill
    moments that hit a running process."""
    ref, ref_temps = snapshot(ref_out)
    assert ref and not ref_temps
    rng = random.Random(seed)
    dest = work / "killed"
    out = out_of(dest)
    hit = []
    for _ in range(n_points):
        after = rng.uniform(0.15, 0.95) * t_ref
        if kill_at(make_args(dest), after):
            hit.append(round(after, 1))
        files, temps = snapshot(out) if out.exists() else ({}, [])
        for rel, d in files.items():  # whatever is there is complete: equal to the uninterrupted run's
            assert rel in ref, f"killed at {after:.1f} s: unexpected {rel}"
            assert d == ref[rel], f"killed at {after:.1f} s: {rel} is half-written or differs"
    run(make_args(dest))  # the same command again, to the end
    files2, temps2 = snapshot(out)
    assert not temps2, f"temporary files left after the rerun: {temps2}"
    assert files2 == ref, {r: (files2.get(r), ref.get(r)) for r in set(files2) | set(ref)
                           if files2.get(r) != ref.get(r)}
    return hit


@pytest.fixture(scope="module")
def demo_ref(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-ref") / "out"
    t = run(cli("demo", "--out", out))
    return out, t


def test_demo_killed_then_rerun(demo_ref, tmp_path):
    ref_out, t_ref = demo_ref
    hit = check_kill_and_rerun(lambda d: cli("demo", "--out", d / "out"), ref_out, tmp_path, 2, 20, t_ref,
                               out_of=lambda d: d / "out")
    assert hit, "no kill point hit the running demo"


def test_georef_killed_then_rerun(demo_ref, tmp_path):
    src, _ = demo_ref
    van = src / "field" / "van"

    def args(d):
        return cli("georef", "--track", van / "R01.gpx", "--sensor", van / "R01_voc.csv", "--out", d)

    ref = tmp_path / "ref"
    t = run(args(ref))
    assert check_kill_and_rerun(args, ref, tmp_path, 3, 21, t)


def test_hotspots_killed_then_rerun(demo_ref, tmp_path):
    src, _ = demo_ref

    def args(d):
        return cli("hotspots", src / "samples", "--area", src / "area", "--out", d)

    ref = tmp_path / "ref"
    t = run(args(ref))
    assert check_kill_and_rerun(args, ref, tmp_path, 3, 22, t)


def test_targets_killed_then_rerun(demo_ref, tmp_path):
    src, _ = demo_ref

    def args(d):
        return cli("targets", src / "evidence", "--area", src / "area", "--out", d / "targets.csv")

    ref = tmp_path / "ref"
    t = run(args(ref))
    check_kill_and_rerun(args, ref, tmp_path, 3, 23, t)  # quick: a kill may come after it finished


def test_stale_temporary_files_are_recognised_and_removed(tmp_path):
    from ecopatrol.core.io import atomic_path, remove_stale_temps

    with atomic_path(tmp_path / "cells.gpkg") as tmp:
        name = tmp.name
        tmp.write_text("complete")
    assert is_temp_name(name) and not (tmp_path / name).exists()
    for n in (name, name + "-journal", ".plan.abcd_123.tmp.json", ".x.ABCDEFGH.tmp"):
        (tmp_path / n).write_text("half")
    keep = [".hidden", "targets.csv", "plan.tmp.json", ".plan.json"]
    for n in keep:
        (tmp_path / n).write_text("keep")
    removed = remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted([name, name + "-journal", ".plan.abcd_123.tmp.json",
                                                      ".x.ABCDEFGH.tmp"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep + ["cells.gpkg"])
    (tmp_path / ".targets.abcdefgh.tmp.csv").write_text("half")
    (tmp_path / ".cells.abcdefgh.tmp.gpkg").write_text("half")
    assert [p.name for p in remove_stale_temps(tmp_path, recursive=False, target=tmp_path / "targets.csv")] == [
        ".targets.abcdefgh.tmp.csv"]
    assert (tmp_path / ".cells.abcdefgh.tmp.gpkg").exists()


def test_area_export_interrupted_is_still_an_area_folder(tmp_path, monkeypatch):
    """area.toml is copied first, so an export killed half way can be run again."""
    import shutil

    from ecopatrol.core.area import export_area

    calls = []
    real = shutil.copyfile

    def die_after_one(src, dst, *a, **k):
        calls.append(Path(src).name)
        if len(calls) > 1:
            raise KeyboardInterrupt  # stands for the kill
        return real(src, dst, *a, **k)

    monkeypatch.setattr(shutil, "copyfile", die_after_one)
    with pytest.raises(KeyboardInterrupt):
        export_area("jimo", tmp_path / "area")
    assert calls[0] == "area.toml" and [p.name for p in (tmp_path / "area").iterdir()] == ["area.toml"]
    monkeypatch.setattr(shutil, "copyfile", real)
    export_area("jimo", tmp_path / "area")
    assert (tmp_path / "area" / "registry.csv").exists()
