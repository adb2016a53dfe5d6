"""Benchmark: file ingest into the packed layout (schema 0003) against the row-per-record layout (issue 17).

Both shared real hours (``../shared/data/hj212/*.h212.gz``) are ingested by ``ingest_file`` (the
batch decoder, the same code path) into a new database, the process pinned to one core:

- **ecopatrol, packed** (schema 0003): each packet's records packed into its own row (``items``,
  JSON), read through the view ``hj212_records``;
- **baseline: row per record** (named, same run): a database migrated only to schema 0002 and
  ``PacketStore(layout="rows")`` — one ``hj212_records`` row per record, as before 0003.

The two alternate, best of ``--repeat``; CPU time (``process_time`` of this process; on PostgreSQL
also the server backends' CPU, read from ``/proc``) and wall. Then where the time goes per packet
(CPU, GC off): ``decode_lines``, ``PacketStore.prepare`` (the rows), ``write_batch`` (the database),
and the read side: ``monitor alarms`` (``monitor_alarms``) over both hours on each layout, with
``read_records`` alone. Figures in BENCHMARKS.md ("Packed records").

Run: ``flock /work/bench.lock .venv/bin/python benchmarks/bench_ingest_layout.py [--pg URL] [--repeat 3] [--json]``
(``--pg``: that database's public schema is emptied).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_monitor import _reset_pg, load_average  # noqa: E402 - the same schema reset and load line

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "hj212"
LAYOUTS = ("packed", "rows")


def _proc_cpu_s(pid: int) -> float:
    """utime + stime of a process (``/proc``), in seconds; 0 when it is gone."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


class _Backends:
    """The PostgreSQL server processes of an engine's connections, and their CPU."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.pids: dict[int, float] = {}

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _rec) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
            self.pids[pid] = _proc_cpu_s(pid)

    def cpu_s(self) -> float:
        return sum(_proc_cpu_s(p) - c0 for p, c0 in self.pids.items())


def _engine(url: str, layout: str):
    from ecopatrol.core.db import make_engine, upgrade

    e = make_engine(url)
    upgrade(e, "head" if layout == "packed" else "0002")
    return e


def ingest_once(url: str, layout: str, files: list[Path]) -> dict:
    from ecopatrol.processing.monitor.ingest import ingest_file
    from ecopatrol.processing.monitor.store import PacketStore

    e = _engine(url, layout)
    backends = _Backends(e) if e.dialect.name == "postgresql" else None
    e.dispose()  # connections from here on are counted
    store = PacketStore(e, layout=layout)
    w0, c0 = time.perf_counter(), time.process_time()
    res = [ingest_file(store, f) for f in files]
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    server = backends.cpu_s() if backends else 0.0
    e.dispose()
    return {"wall_s": wall, "cpu_s": cpu, "server_cpu_s": server, "lines": sum(r.lines for r in res),
            "packets": sum(r.accepted for r in res), "records": sum(r.records for r in res),
            "rejected": sum(r.rejected for r in res)}


def parts(url: str, layout: str, lines: list[bytes]) -> dict:
    """CPU per packet of decoding, rows and the database (GC off), one layout."""
    from ecopatrol.processing.hj212 import decode_lines
    from ecopatrol.processing.monitor.store import PacketStore, Received

    n = len(lines)
    gc.disable()
    try:
        c0 = time.process_time()
        dec = [d for i in range(0, n, 2000) for d in decode_lines(lines[i:i + 2000])]
        t_dec = time.process_time() - c0
        e = _engine(url, layout)
        store = PacketStore(e, layout=layout)
        now = datetime.now(UTC)
        items = [Received(d.raw, now, "f", d.packet, d.reason, d.detail) for d in dec]
        c0 = time.process_time()
        for it in items:
            store.prepare(it)
        t_rows = time.process_time() - c0
        c0 = time.process_time()
        for i in range(0, n, 2000):
            store.write_batch(items[i:i + 2000])
        t_db = time.process_time() - c0
        e.dispose()
    finally:
        gc.enable()
    return {"decode_us": 1e6 * t_dec / n, "rows_us": 1e6 * t_rows / n, "database_us": 1e6 * t_db / n}


def read_side(url: str, layout: str, files: list[Path]) -> dict:
    """``monitor_alarms`` (window from the data, and 20:00–22:00 UTC) and ``read_records`` on a database
    holding both hours in ``layout``: wall and CPU of this process."""
    from ecopatrol.processing.monitor.alarms import monitor_alarms, read_records
    from ecopatrol.processing.monitor.ingest import ingest_file
    from ecopatrol.processing.monitor.store import PacketStore

    e = _engine(url, layout)
    for f in files:
        ingest_file(PacketStore(e, layout=layout), f)
    out = {}
    for name, kw in (("all", {}), ("20-22", {"start": "2016-08-23T20:00Z", "end": "2016-08-23T22:00Z"})):
        w0, c0 = time.perf_counter(), time.process_time()
        recs = read_records(e, kw.get("start"), kw.get("end"))
        out[f"read_records_{name}_wall_s"] = time.perf_counter() - w0
        out[f"read_records_{name}_cpu_s"] = time.process_time() - c0
        out[f"records_{name}"] = len(recs)
        w0, c0 = time.perf_counter(), time.process_time()
        res = monitor_alarms(e, **kw)
        out[f"alarms_{name}_wall_s"] = time.perf_counter() - w0
        out[f"alarms_{name}_cpu_s"] = time.process_time() - c0
        out[f"alarms_{name}"] = len(res.alarms)
    if e.dialect.name == "sqlite":
        out["file_mb"] = Path(e.url.database).stat().st_size / 1e6
    e.dispose()
    return out


def insert_parts(lines: list[bytes], repeat: int = 3) -> dict:
    """CPU per packet of SQLite alone: the packed layout's packet rows inserted with plain ``sqlite3``
    ``executemany``, 2 000 per transaction (WAL, ``synchronous=FULL``), with and without the three
    indexes, ``items`` and ``raw`` — what the packet row itself costs, apart from ``write_batch``'s Python."""
    import sqlite3

    from ecopatrol.processing.hj212 import decode_lines
    from ecopatrol.processing.monitor.store import PACKET_COLUMNS, PacketStore, Received

    dec = [d for i in range(0, len(lines), 2000) for d in decode_lines(lines[i:i + 2000])]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        e = _engine(f"sqlite:///{tmp}/rows.db", "packed")
        store = PacketStore(e)
        now = datetime.now(UTC)
        seen, rows = set(), []
        for d in dec:
            it = store.prepare(Received(d.raw, now, "f", d.packet, d.reason, d.detail))
            if it.rows is not None and it.rows[0] not in seen:
                seen.add(it.rows[0])
                r = list(it.rows[1])
                r[1] = r[0]
                rows.append(r)
        e.dispose()
        table = "CREATE TABLE p (id INTEGER PRIMARY KEY, " + ", ".join(PACKET_COLUMNS) + ")"
        idx = ["CREATE UNIQUE INDEX u ON p (digest)", "CREATE INDEX a ON p (mn, data_time_utc)",
               "CREATE INDEX b ON p (mn, qn)"]
        sql = f"INSERT INTO p ({', '.join(PACKET_COLUMNS)}) VALUES ({', '.join('?' * len(PACKET_COLUMNS))})"
        variants = {"packet row, 3 indexes": ([table, *idx], lambda r: r),
                    "no index": ([table], lambda r: r),
                    "digest index only": ([table, idx[0]], lambda r: r),
                    "items empty": ([table, *idx], lambda r: [*r[:-1], "[]"]),
                    "raw and items empty": ([table, *idx], lambda r: [*r[:16], b"", r[17], "[]"])}
        gc.disable()
        try:
            for k, (ddl, f) in variants.items():
                data, best = [f(r) for r in rows], float("inf")
                for i in range(repeat):
                    c = sqlite3.connect(f"{tmp}/{len(out)}_{i}.db", isolation_level=None)
                    c.execute("PRAGMA journal_mode=WAL")
                    c.execute("PRAGMA synchronous=FULL")
                    for stmt in ddl:
                        c.execute(stmt)
                    c0 = time.process_time()
                    for j in range(0, len(data), 2000):
                        c.execute("BEGIN")
                        c.executemany(sql, data[j:j + 2000])
                        c.execute("COMMIT")
                    best = min(best, time.process_time() - c0)
                    c.close()
                out[k] = 1e6 * best / len(rows)
        finally:
            gc.enable()
    return out


def migration(url: str, files: list[Path]) -> dict:
    """Wall and CPU (this process) of migrating a database holding both hours from 0002 (row per record)
    to the newest schema (records packed, the view)."""
    from ecopatrol.core.db import upgrade
    from ecopatrol.processing.monitor.ingest import ingest_file
    from ecopatrol.processing.monitor.store import PacketStore

    e = _engine(url, "rows")
    for f in files:
        ingest_file(PacketStore(e, layout="rows"), f)
    w0, c0 = time.perf_counter(), time.process_time()
    upgrade(e)
    out = {"database": e.dialect.name, "wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0}
    e.dispose()
    return out


def run(backend: str, url_of, files: list[Path], lines: list[bytes], repeat: int) -> dict:
    runs = {k: [] for k in LAYOUTS}
    for _ in range(repeat):
        for layout in LAYOUTS:
            runs[layout].append(ingest_once(url_of(), layout, files))
    out = {"backend": backend}
    for layout in LAYOUTS:
        best_wall = min(runs[layout], key=lambda r: r["wall_s"])
        best_cpu = min(runs[layout], key=lambda r: r["cpu_s"] + r["server_cpu_s"])
        n = best_wall["lines"]
        out[layout] = {**best_wall, "best_cpu_s": best_cpu["cpu_s"], "best_server_cpu_s": best_cpu["server_cpu_s"],
                       "packets_s_wall": n / best_wall["wall_s"],
                       "packets_per_cpu_s": n / (best_cpu["cpu_s"] + best_cpu["server_cpu_s"]),
                       "packets_per_client_cpu_s": n / best_cpu["cpu_s"],
                       "parts": parts(url_of(), layout, lines), "read": read_side(url_of(), layout, files)}
    assert out["packed"]["records"] == out["rows"]["records"] and out["packed"]["packets"] == out["rows"]["packets"]
    assert out["packed"]["read"]["alarms_all"] == out["rows"]["read"]["alarms_all"]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--pg", help="also on this PostgreSQL URL (its public schema is emptied)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--migration", action="store_true", help="only the migration 0002 → 0003 of both hours")
    ap.add_argument("--insert-parts", action="store_true",
                    help="only SQLite's own insert of the packet rows, with and without indexes, items, raw")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    logging.disable(logging.INFO)
    files = sorted(a.data.glob("*.h212*"))
    if not files:
        print(f"{a.data}: no *.h212 files; nothing to measure", file=sys.stderr)
        return 0
    lines = []
    for f in files:
        raw = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
        lines += [ln for ln in raw.split(b"\n") if ln.strip()]
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    load0, t0 = load_average(), datetime.now(UTC)
    if a.insert_parts:
        parts_us = insert_parts(lines)
        print(f"{t0:%Y-%m-%d %H:%M} UTC, load {load0} → {load_average()}: SQLite insert of the packet rows (CPU per packet): "
              + ", ".join(f"{k} {v:.1f} µs" for k, v in parts_us.items()))
        return 0
    if a.migration:
        with tempfile.TemporaryDirectory() as tmp:
            ms = [migration(f"sqlite:///{tmp}/m.db", files)] + ([migration((_reset_pg(a.pg), a.pg)[1], files)]
                                                                 if a.pg else [])
        for m in ms:
            print(f"{t0:%Y-%m-%d %H:%M} UTC, load {load0} → {load_average()}: {m['database']} migration 0002 → 0003 of both "
                  f"hours: wall {m['wall_s']:.2f} s, CPU {m['cpu_s']:.2f} s (this process)")
        return 0
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if not a.no_sqlite:
            counter = iter(range(1000))
            results.append(run("SQLite", lambda: f"sqlite:///{tmp}/db{next(counter)}.db", files, lines, a.repeat))
    if a.pg:
        results.append(run("PostgreSQL", lambda: (_reset_pg(a.pg), a.pg)[1], files, lines, a.repeat))
    meta = {"start_utc": t0.isoformat(timespec="seconds"), "end_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_start": load0, "load_end": load_average(), "cpu": sorted(os.sched_getaffinity(0))}
    if a.json:
        print(json.dumps({"meta": meta, "results": results}))
        return 0
    print(f"{meta['start_utc']} → {meta['end_utc']}, load {meta['load_start']} → {meta['load_end']}, "
          f"pinned to CPU {meta['cpu']}; {len(lines):,} lines")
    print("| database | layout | wall | packets/s (wall) | CPU (client + server) | packets per CPU second | "
          "decode / rows / database per packet (CPU) | DB size |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for layout in LAYOUTS:
            x, p = r[layout], r[layout]["parts"]
            size = f"{x['read']['file_mb']:.1f} MB" if "file_mb" in x["read"] else ""
            print(f"| {r['backend']} | {layout} | {x['wall_s']:.2f} s | {x['packets_s_wall']:,.0f} | "
                  f"{x['best_cpu_s']:.2f} + {x['best_server_cpu_s']:.2f} s | {x['packets_per_cpu_s']:,.0f} "
                  f"({x['packets_per_client_cpu_s']:,.0f} client only) | {p['decode_us']:.1f} / {p['rows_us']:.1f} / "
                  f"{p['database_us']:.1f} µs | {size} |")
        pk, rw = r["packed"], r["rows"]
        print(f"| {r['backend']} | ratio packed / rows | {rw['wall_s'] / pk['wall_s']:.2f}x faster | | | "
              f"{pk['packets_per_cpu_s'] / rw['packets_per_cpu_s']:.2f}x | | |")
    print("\nRead side (monitor_alarms; read_records alone), wall / CPU:")
    for r in results:
        for layout in LAYOUTS:
            d = r[layout]["read"]
            print(f"- {r['backend']} {layout}: alarms (window from the data) {d['alarms_all']} in "
                  f"{d['alarms_all_wall_s']:.2f} / {d['alarms_all_cpu_s']:.2f} s (read_records {d['records_all']:,} "
                  f"in {d['read_records_all_wall_s']:.2f} / {d['read_records_all_cpu_s']:.2f} s); 20:00–22:00 "
                  f"{d['alarms_20-22']} in {d['alarms_20-22_wall_s']:.2f} / {d['alarms_20-22_cpu_s']:.2f} s "
                  f"(read_records {d['records_20-22']:,} in {d['read_records_20-22_wall_s']:.2f} / "
                  f"{d['read_records_20-22_cpu_s']:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
