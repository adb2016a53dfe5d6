"""Plume worlds of the simulator that share no dispersion code with the analysis.

``lagrangian``: a Lagrangian stochastic particle model in a Monin–Obukhov surface layer
(:mod:`ecopatrol.missions.worlds.lagrangian`). The default ``gaussian`` world lives in
:mod:`ecopatrol.missions._world` and uses :mod:`ecopatrol.core.dispersion`, the model attribution
inverts.
"""

WORLDS = ("gaussian", "lagrangian")
