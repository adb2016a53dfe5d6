"""Shared by the HJ 212 database tests (test_monitor, test_receiver_process): the database
fixtures — every test on SQLite (a file in tmp_path) and, when ``ECOPATROL_TEST_PG_URL`` names a
server, on PostgreSQL with its public schema reset — a row count, and a small data packet."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from ecopatrol.processing.hj212 import encode, make_packet

PG_URL = os.environ.get("ECOPATROL_TEST_PG_URL")


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine

    from ecopatrol.core.db import normalise_url

    e = create_engine(normalise_url(url))
    with e.begin() as c:
        c.exec_driver_sql("DROP SCHEMA public CASCADE")
        c.exec_driver_sql("CREATE SCHEMA public")
    e.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    if not PG_URL:
        pytest.skip("PostgreSQL: set ECOPATROL_TEST_PG_URL=postgresql://USER@HOST:PORT/DB (.ci/run starts one)")
    try:
        _reset_pg(PG_URL)
    except Exception as exc:  # the server named is not there
        pytest.skip(f"PostgreSQL at ECOPATROL_TEST_PG_URL is not reachable: {exc}")
    return PG_URL


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
