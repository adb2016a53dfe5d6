"""Shared by the HJ 212 database tests (test_monitor, test_receiver_process): the database
fixtures — every test on SQLite (a file in tmp_path) and, when ``ECOPATROL_TEST_PG_URL`` names a
server, on PostgreSQL with its public schema reset (``ledger_support.pg_url_or_skip``) — a row count, and a small data packet."""

from __future__ import annotations

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
