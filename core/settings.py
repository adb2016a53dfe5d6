"""Defaults in one place (in the manner of ``osmnx.settings``): wind, stability, time zone,
heights, radii. Modules read them from here instead of spelling their own literal; an area's
``area.toml`` ``[defaults]`` and the command-line options override them.

Where two stages used different values for what reads as the same default, both are kept
(named for what they serve) so that behaviour does not change silently: see
:data:`UNKNOWN_STACK_HEIGHT_VAN_M` / :data:`UNKNOWN_STACK_HEIGHT_DRONE_M` and
:data:`SIMULATOR_WIND_FROM_DEG`. Unifying them changes plans and the simulated world.
"""

from __future__ import annotations

#: Zone of naive local times (analyser clocks, ``--when``, the report's dates) when none is given.
DEFAULT_TIMEZONE = "Asia/Shanghai"

#: Wind when neither the samples, a plan, the command line nor ``area.toml`` gives one.
DEFAULT_WIND_FROM_DEG = 315.0
DEFAULT_WIND_SPEED_M_S = 4.0
#: Pasquill–Gifford class assumed when none is known (neutral).
DEFAULT_STABILITY = "D"
#: The simulator's wind when neither the plans nor the area give one (a westerly; differs from
#: :data:`DEFAULT_WIND_FROM_DEG`, kept so simulated worlds stay as they were).
SIMULATOR_WIND_FROM_DEG = 270.0

#: Height of a ground platform's inlet (a van's roof inlet; also a fixed station's when its own
#: is not known): the plume model's receptor height for samples whose ``platform_kind`` is not drone.
GROUND_INLET_AGL_M = 3.0

#: Stack height assumed for a source without a registered one. The van planner takes a low,
#: fugitive source (10 m); the drone planner centres its curtains on 15 m. Two values on purpose
#: until one is chosen (changing either changes the plans).
UNKNOWN_STACK_HEIGHT_VAN_M = 10.0
UNKNOWN_STACK_HEIGHT_DRONE_M = 15.0

#: Radius of an enterprise's site when the registry gives none (m).
DEFAULT_SITE_RADIUS_M = 60.0
