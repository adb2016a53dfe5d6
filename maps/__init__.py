"""What people look at: the interactive map, static figures and the daily report.

``build_map`` and ``build_report`` are imported lazily so that importing the package (and
``ecopatrol --help``) stays instant.
"""

from __future__ import annotations

__all__ = ["build_map", "build_report"]


def __getattr__(name):
    if name == "build_map":
        from .interactive import build_map

        return build_map
    if name == "build_report":
        from .report import build_report

        return build_report
    raise AttributeError(f"module 'ecopatrol.maps' has no attribute {name!r}")
