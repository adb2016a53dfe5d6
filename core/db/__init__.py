"""ecopatrol's database: engines from a URL, the schema, and its migrations.

- :mod:`.engine` — :func:`make_engine` (SQLite file by default, PostgreSQL via psycopg 3; the
  durability settings), :func:`database_url` (argument, ``$ECOPATROL_DB`` or ``sqlite:///ecopatrol.db``);
- :mod:`.schema` — the tables (SQLAlchemy Core) at the newest schema version;
- :mod:`.migrate` — :func:`upgrade` to the newest version with the alembic migrations shipped in
  ``migrations/`` (no alembic.ini), :func:`current_revision`, :func:`check_current`.

:func:`open_database` does the usual: an engine, migrated to the newest version. SQLAlchemy and
alembic are imported when these functions run, not when this package is imported.
"""

from __future__ import annotations

from .engine import (DEFAULT_URL, ENV_VAR, DatabaseError, database_url, durability_warning, make_engine,
                     normalise_url, redact)
from .migrate import check_current, current_revision, head_revision, upgrade

__all__ = ["DEFAULT_URL", "ENV_VAR", "DatabaseError", "database_url", "durability_warning", "make_engine",
           "normalise_url", "redact", "check_current", "current_revision", "head_revision", "upgrade",
           "open_database"]


def open_database(url: str | None = None, *, migrate: bool = True, **engine_kw):
    """An engine for ``url`` (see :func:`database_url`), migrated to the newest schema when ``migrate``,
    else checked to be at it. A database that cannot be reached raises :class:`DatabaseError`."""
    from sqlalchemy.exc import OperationalError

    from .engine import sqlite_path

    path = sqlite_path(url)
    if not migrate and path is not None and not path.exists():
        raise DatabaseError(f"`{path}`: no such database; `ecopatrol monitor ingest` or `serve` creates it "
                            "(or give --db / $ECOPATROL_DB)")
    engine = make_engine(url, **engine_kw)
    try:
        if migrate:
            upgrade(engine)
        else:
            check_current(engine)
    except OperationalError as exc:
        engine.dispose()
        raise DatabaseError(f"database {redact(normalise_url(url))}: {str(exc.orig).strip().splitlines()[0]}") from exc
    except BaseException:
        engine.dispose()
        raise
    return engine
