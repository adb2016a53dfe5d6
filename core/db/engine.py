"""Engines from a database URL: SQLite by default (a file), PostgreSQL when the URL says so.

URL forms (:func:`database_url` picks the one in force: the argument, else ``$ECOPATROL_DB``, else
``sqlite:///ecopatrol.db`` in the current folder):

- ``sqlite:///monitor.db`` (relative to the current folder), ``sqlite:////var/lib/ecopatrol/monitor.db``
  (absolute: four slashes), or a plain path ``monitor.db``;
- ``postgresql://user:password@host:5432/dbname`` (also ``postgres://…``), driven by psycopg 3
  (``postgresql+psycopg://…`` is the same).

**Durability.** Something that acknowledges data to a sender must not lose it after the answer:

- SQLite runs in WAL mode with ``synchronous=FULL``: each commit fsyncs the write-ahead log, so a
  committed transaction survives a power cut as well as a crash. ``NORMAL`` (the usual WAL
  setting) fsyncs only at checkpoints and may lose the last commits on a power cut (never the
  file's consistency): too weak for acknowledged packets. The cost of FULL is one fsync per
  commit, which the receiver's group commit shares between many packets. ``busy_timeout`` (30 s)
  lets ``serve`` and ``ingest`` write the same file, one transaction at a time. Transactions are
  real (``BEGIN`` issued by SQLAlchemy, not the sqlite3 module's implicit ones), so migrations'
  DDL is transactional too.
- PostgreSQL is durable at commit with the server's default ``synchronous_commit=on``;
  :func:`durability_warning` says when a server has it off.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import EcopatrolError, InputError

log = logging.getLogger(__name__)

ENV_VAR = "ECOPATROL_DB"
DEFAULT_URL = "sqlite:///ecopatrol.db"
#: SQLite's ``synchronous`` setting in WAL mode: FULL fsyncs every commit (see the module docstring).
SQLITE_SYNCHRONOUS = "FULL"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseError(EcopatrolError, ConnectionError):
    """The database cannot be reached or is not an ecopatrol database; the message says what to do."""


def database_url(url: str | None = None) -> str:
    """The URL in force: ``url``, else ``$ECOPATROL_DB``, else :data:`DEFAULT_URL`."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def normalise_url(url: str | None = None) -> str:
    """A SQLAlchemy URL for ``url`` (see the module docstring), or :class:`InputError` saying why not."""
    url = database_url(url).strip()
    if "://" not in url:  # a plain path: a SQLite file
        if url in ("", ":memory:"):
            raise InputError(_MEMORY)
        return f"sqlite:///{url}"
    scheme, _, rest = url.partition("://")
    base = scheme.split("+")[0].lower()
    if base in ("postgres", "postgresql"):
        driver = scheme.partition("+")[2]
        if driver and driver != "psycopg":
            raise InputError(f"database URL {redact(url)}: the PostgreSQL driver is psycopg 3; write "
                             f"postgresql://… or postgresql+psycopg://… (not +{driver})")
        return f"postgresql+psycopg://{rest}"
    if base == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if path in ("", ":memory:") or "mode=memory" in path:
            raise InputError(_MEMORY)
        return url
    raise InputError(f"database URL {redact(url)}: ecopatrol stores into SQLite (sqlite:///FILE) or PostgreSQL "
                     "(postgresql://USER@HOST:PORT/DB)")


_MEMORY = ("an in-memory SQLite database is gone when the command ends: give a file, e.g. "
           "--db sqlite:///ecopatrol.db")


def redact(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    cred, _, host = rest.rpartition("@")
    user = cred.partition(":")[0]
    return f"{scheme}://{user}{':***' if ':' in cred else ''}@{host}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (``None`` for other databases)."""
    u = normalise_url(url)
    if not u.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    return Path(make_url(u).database)


def make_engine(url: str | None = None, *, sqlite_synchronous: str = SQLITE_SYNCHRONOUS, echo: bool = False):
    """A SQLAlchemy :class:`~sqlalchemy.engine.Engine` for ``url`` with ecopatrol's settings.

    SQLite: WAL, ``synchronous`` (FULL unless told otherwise), foreign keys on, a busy timeout, and
    transactions begun by SQLAlchemy (``BEGIN``; ``BEGIN IMMEDIATE`` for a connection with the
    execution option ``sqlite_immediate=True``, which takes the write lock at once). The folder
    of the file must exist. PostgreSQL: psycopg 3, connections checked before use.
    """
    from sqlalchemy import create_engine, event

    u = normalise_url(url)
    if u.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            from ..errors import MissingDependencyError

            raise MissingDependencyError.keyed("dep.postgres") from None
        return create_engine(u, pool_pre_ping=True, echo=echo)
    path = sqlite_path(u)
    if path is not None and not path.parent.exists():
        raise InputError(f"database {u}: the folder `{path.parent}` does not exist; create it or give another path")
    sync = sqlite_synchronous.upper()
    if sync not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"sqlite_synchronous={sqlite_synchronous!r}: OFF, NORMAL, FULL or EXTRA")
    engine = create_engine(u, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # no implicit BEGIN from sqlite3: SQLAlchemy's own, below
        cur = dbapi_conn.cursor()
        mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("SQLite %s: journal_mode is %s, not WAL (a file system without shared memory?)", path, mode)
        cur.execute(f"PRAGMA synchronous={sync}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "BEGIN")

    return engine


def durability_warning(engine) -> str | None:
    """Why commits on ``engine`` may not survive a power cut, or ``None`` when they do."""
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()  # 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
            if int(sync) < 2 and str(mode).lower() == "wal":
                return f"SQLite synchronous={sync} (below FULL) in WAL mode: the last commits can be lost on a power cut"
            if int(sync) < 1:
                return "SQLite synchronous=OFF: commits can be lost on a crash"
            return None
        if engine.dialect.name == "postgresql":
            value = conn.execute(text("SHOW synchronous_commit")).scalar()
            if str(value).lower() == "off":
                return ("PostgreSQL synchronous_commit=off: a commit is answered before it is on disk, so a server "
                        "crash can lose acknowledged packets; set it to on for this database")
            fsync = conn.execute(text("SHOW fsync")).scalar()
            if str(fsync).lower() == "off":
                return "PostgreSQL fsync=off: a power cut can lose or corrupt committed data"
    return None
