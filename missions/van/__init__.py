"""Van route planning: road networks, downwind monitoring legs, optimised tours, navigation exports."""

from .exports import write_van_plan
from .network import load_road_network
from .tour import Dropped, RouteLeg, VanPlan, plan_van

__all__ = ["Dropped", "RouteLeg", "VanPlan", "load_road_network", "plan_van", "write_van_plan"]
