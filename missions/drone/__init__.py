"""Drone sortie planning: wind-aware sampling patterns, airspace, batteries, exports, upload.

Public API::

    plan = plan_drone(area, ["E001", "E002"], Wind(270, 4), pattern="curtain", aircraft="m350")
    report = validate_plan(plan, area)          # independent pre-flight checks
    paths = write_drone_plan(plan, area, "plans/drone")   # refuses a plan that fails them

``ecopatrol.missions.drone.upload.upload_mission`` puts a written ``.plan`` on a vehicle over
MAVLink.
"""

from .aircraft import AIRCRAFT, Aircraft, get_aircraft
from .exports import write_drone_plan
from .patterns import PATTERNS
from .sorties import DronePlan, Sortie, plan_drone
from .validate import validate_plan

__all__ = ["AIRCRAFT", "Aircraft", "DronePlan", "PATTERNS", "Sortie", "get_aircraft", "plan_drone",
           "validate_plan", "write_drone_plan"]
