"""``benchmarks/bench_ledger.py --pg URL`` drops the database's ``public`` schema: it refuses one
holding data it did not write (naming the flag), empties it with ``--i-know-this-drops-data``, and
may empty again a schema it marked as its own scratch schema."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ledger_support import db_url_for, reset_pg

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ledger.py"


@pytest.fixture
def bench_ledger():
    spec = importlib.util.spec_from_file_location("bench_ledger", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def pg(tmp_path):
    url = db_url_for("postgresql", tmp_path)  # emptied first; skips without a test server
    yield url
    reset_pg(url)


def _tables(url: str) -> list[str]:
    from sqlalchemy import create_engine, inspect

    from ecopatrol.core.db import normalise_url

    e = create_engine(normalise_url(url))
    try:
        return inspect(e).get_table_names(schema="public")
    finally:
        e.dispose()


def _make_table(url: str) -> None:
    from sqlalchemy import create_engine

    from ecopatrol.core.db import normalise_url

    e = create_engine(normalise_url(url))
    with e.begin() as c:
        c.exec_driver_sql("CREATE TABLE brigade_checks (id integer)")
    e.dispose()


def test_a_schema_with_data_is_refused_unless_the_flag(bench_ledger, pg, capsys):
    assert bench_ledger.pg_refusal(pg) is None  # empty: nothing to lose
    _make_table(pg)
    why = bench_ledger.pg_refusal(pg)
    assert why is not None and "brigade_checks" in why and bench_ledger.DROP_FLAG in why
    # the command stops before any benchmark, the table untouched
    assert bench_ledger.main(["--pg", pg, "--firms", "5", "--repeat", "1"]) == 2
    assert bench_ledger.DROP_FLAG in capsys.readouterr().err
    assert _tables(pg) == ["brigade_checks"]
    # emptied (as --i-know-this-drops-data does), the schema is the benchmark's own: emptied again freely
    bench_ledger.empty_pg(pg)
    assert _tables(pg) == []
    _make_table(pg)
    assert bench_ledger.pg_refusal(pg) is None
