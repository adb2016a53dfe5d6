"""Shared by the HJ 212 database tests (test_monitor, test_receiver_process): the database
fixtures — every test on SQLite (a file in tmp_path) and, when ``ECOPATROL_TEST_PG_URL`` names a
server, on PostgreSQL with its public schema reset (``ledger_support.pg_url_or_skip``) — a row count, a small data packet,
and ``monitor serve`` started as a subprocess up to its "listening on" line (``start_serve``)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from ledger_support import pg_url_or_skip

from ecopatrol.processing.hj212 import encode, make_packet


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return pg_url_or_skip()


@pytest.fixture
def engine(db_url):
    from ecopatrol.core.db import open_database

    e = open_database(db_url)
    yield e
    e.dispose()


def _count(engine, table, where=None) -> int:
    from sqlalchemy import func, select

    q = select(func.count()).select_from(table)
    if where is not None:
        q = q.where(where)
    with engine.connect() as c:
        return c.execute(q).scalar_one()


def _frame(mn="MN001", minute=0, value=1.5, ack=False, cn="2051", qn_ms=0):
    t = datetime(2024, 1, 22, 9, minute, tzinfo=UTC)
    pk = make_packet(st="31", cn=cn, mn=mn, data_time=t, ack=ack, qn=datetime(2024, 1, 22, 9, 0, tzinfo=UTC)
                     .replace(microsecond=qn_ms * 1000) if ack else None,
                     values={"a21026": {"Avg": value, "Flag": "N"}, "a34013": {"Avg": 3, "Flag": "N"}})
    return encode(pk)


def start_serve(db: str, *args: str, timeout_s: float = 60.0) -> tuple[subprocess.Popen, re.Match]:
    """``python -m ecopatrol monitor serve --listen 127.0.0.1:0 --db DB ARGS…``, read up to its "listening
    on 127.0.0.1:PORT …" line on stderr; returns the process and that line's match (``group(1)`` the port;
    ``group(2)`` the writer process's pid when it runs one). A server that ends or stays silent fails the
    test with what it printed; the caller stops the process (``send_signal``/``kill``)."""
    proc = subprocess.Popen([sys.executable, "-m", "ecopatrol", "monitor", "serve", "--listen", "127.0.0.1:0",
                             "--db", db, *args], stderr=subprocess.PIPE, text=True,
                            env=os.environ | {"COLUMNS": "200"})
    lines, t0 = [], time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)(?: \(writer process (\d+)\))?", line)
        if m:
            return proc, m
    proc.kill()
    proc.communicate(timeout=30)
    pytest.fail("monitor serve did not say where it listens:\n" + "".join(lines))


def ask_answer(port: int, frame: bytes) -> bytes:
    """Send one frame to 127.0.0.1:PORT and read up to the first CRLF (the answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(frame)
        got = b""
        while not got.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    return got
