"""The one in-memory area every test fake is built from (no tests here).

:class:`MemoryArea` holds what :class:`ecopatrol.core.area.AreaLike` requires (``name``,
``enterprises``, ``sources``, ``config``, ``metric_crs``) and refuses, on creation, an instance
that does not satisfy the protocol, so a fake cannot silently miss a field. The fakes of the
simulator, evidence, map, drone and van tests subclass it and add only the optional parts they
need (``path``, ``nofly``, ``launch_sites``, ``depot``, ``roads_path``, ``dem_path``,
``elevation_m``), as an area folder without them would lack them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecopatrol.core.area import AreaLike
from ecopatrol.core.crs import local_metric_crs

#: The fields of :class:`AreaLike` every area has (the rest are optional parts).
AREA_FIELDS = ("name", "enterprises", "sources", "config", "metric_crs")


@dataclass(kw_only=True)
class MemoryArea:
    """An area in memory; ``metric_crs`` defaults, as :class:`~ecopatrol.core.area.Area`'s does,
    to the UTM zone of the enterprises."""

    name: str = "test"
    enterprises: object
    sources: object
    config: dict = field(default_factory=dict)
    metric_crs: object = None

    def __post_init__(self):
        if self.metric_crs is None and self.enterprises is not None and len(self.enterprises):
            g = self.enterprises.geometry
            self.metric_crs = local_metric_crs(g.x.to_numpy(), g.y.to_numpy())
        missing = [f for f in AREA_FIELDS if getattr(self, f, None) is None]
        if missing or not isinstance(self, AreaLike):
            raise TypeError(f"{type(self).__name__} is not an AreaLike: missing {', '.join(missing) or '?'}")
