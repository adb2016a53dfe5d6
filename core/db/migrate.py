"""Run the migrations shipped in ``migrations/`` with alembic's API: no alembic.ini for users.

:func:`upgrade` brings a database to the latest schema (``head``) — from empty, or from any
earlier version — in one transaction; :func:`current_revision` reads the version alembic keeps in
the table ``alembic_version``; :func:`check_current` refuses a database that is not at ``head``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .engine import DatabaseError, redact

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
VERSION_TABLE = "alembic_version"
#: The newest revision in ``migrations/versions`` — what :func:`check_current` compares with, so that
#: opening a database for reading imports no alembic (``ledger stats`` starts in a fraction of the
#: time). ``tests/test_monitor.py`` asserts that it is alembic's head: add a migration, update it.
HEAD_REVISION = "0003"


def alembic_config(connection=None, url: str | None = None):
    """An alembic :class:`~alembic.config.Config` built in code: the packaged script folder, and the
    connection to migrate (or a URL, for offline SQL)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest schema version shipped."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine) -> str | None:
    """The schema version of the database (``None`` when it has none: empty, or not ecopatrol's), read
    from alembic's version table with a plain query (importing alembic costs more than the query)."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise DatabaseError(f"{redact(str(engine.url))}: {len(rows)} schema versions in {VERSION_TABLE} "
                            f"({', '.join(rows)}); ecopatrol's migrations have one line of versions")
    return rows[0] if rows else None


def upgrade(engine, revision: str = "head") -> str:
    """Migrate the database of ``engine`` to ``revision`` (default the newest); returns the version reached."""
    from alembic import command

    before = current_revision(engine)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    after = current_revision(engine)
    if after != before:
        log.info("database %s: schema %s → %s", redact(str(engine.url)), before or "empty", after)
    return after


def check_current(engine) -> str:
    """The version of the database if it is the newest, else :class:`DatabaseError` saying what to run."""
    rev, head = current_revision(engine), HEAD_REVISION
    if rev == head:
        return rev
    where = redact(engine.url.render_as_string(hide_password=True))
    if rev is None:
        raise DatabaseError(f"{where} is not an ecopatrol database yet (no {VERSION_TABLE} table): "
                            "`ecopatrol monitor migrate` (or `serve` / `ingest`) creates the tables")
    raise DatabaseError(f"{where} has schema version {rev}, this ecopatrol needs {head}: "
                        "run `ecopatrol monitor migrate --db URL`")
