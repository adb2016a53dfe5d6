"""Alembic environment: migrate the connection handed over by :func:`ecopatrol.core.db.migrate.upgrade`.

Online only with a connection in ``config.attributes["connection"]``; with just a URL
(``sqlalchemy.url``) an engine with ecopatrol's settings is made; offline mode writes SQL.
"""

from alembic import context

from ecopatrol.core.db.schema import metadata

config = context.config


def _configure(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      # ecopatrol's SQLite engine issues BEGIN itself, so DDL is transactional there too
                      transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                          literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from ecopatrol.core.db.engine import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _configure(conn)
            conn.commit()
    finally:
        engine.dispose()


run()
