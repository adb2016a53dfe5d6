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
    """The schema version of the database (``None`` when it has none: empty, or not ecopatrol's)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


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
    rev, head = current_revision(engine), head_revision()
    if rev == head:
        return rev
    where = redact(engine.url.render_as_string(hide_password=True))
    if rev is None:
        raise DatabaseError(f"{where} is not an ecopatrol database yet (no {VERSION_TABLE} table): "
                            "`ecopatrol monitor migrate` (or `serve` / `ingest`) creates the tables")
    raise DatabaseError(f"{where} has schema version {rev}, this ecopatrol needs {head}: "
                        "run `ecopatrol monitor migrate --db URL`")
