"""Migration scripts, one per schema version (alembic skips this file)."""
