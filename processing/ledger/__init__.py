"""The supervision ledger (issue 18): every off-site check recorded from the evidence, on-site
outcomes fed back, the brigade's statistics.

- :mod:`.coverage` — :func:`assess_run`: which firms a run covered (its plume at a stated
  detection rate reached enough clean samples) and the result the evidence gives each;
- :mod:`.store` — :func:`record_run`, :func:`record_inspections`, :func:`import_inspections_csv`,
  exports; one transaction per write, idempotent by unique keys;
- :mod:`.stats` — :func:`ledger_stats`;
- :mod:`.learning` — the registry facts and outcome weights targeting reads, positive-list proposals.

The tables are in :mod:`ecopatrol.core.db.schema` (migration 0002).
"""

from __future__ import annotations

__all__ = ["assess_run", "record_run", "record_inspections", "import_inspections_csv", "ledger_stats"]


def __getattr__(name):
    if name == "assess_run":
        from .coverage import assess_run

        return assess_run
    if name in ("record_run", "record_inspections", "import_inspections_csv"):
        from . import store

        return getattr(store, name)
    if name == "ledger_stats":
        from .stats import ledger_stats

        return ledger_stats
    raise AttributeError(name)
