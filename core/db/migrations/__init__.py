"""Alembic migrations of ecopatrol's database, run in code by :mod:`ecopatrol.core.db.migrate` (no alembic.ini).

A new revision is a new file in ``versions/``: copy the last one, set ``revision`` to the next
number and ``down_revision`` to the last one's, write ``upgrade``/``downgrade`` with ``op``, and
change :mod:`ecopatrol.core.db.schema` to match (``tests/test_monitor.py`` compares the two).
"""
