"""The industry (sector) weight of the registry risk prior: VOC sectors first, the brigade's priorities highest.

Used by targeting (the registry risk of each firm) and by the simulated month (which sectors new
emitters arrive in), so the prior the analysis assumes and the one the simulator draws from are
one definition.
"""

from __future__ import annotations

#: the brigade's priority sectors (Jimo: packaging printing, textile dyeing): weight 1.0
PRIORITY_INDUSTRIES = ("packaging printing", "textile dyeing", "包装印刷", "纺织印染")
#: other VOC-emitting sectors: weight 0.7; everything else 0.3
VOC_INDUSTRIES = ("printing", "dyeing", "chemical", "coating", "paint", "furniture", "plastic", "rubber",
                  "pharmaceutical", "petro", "adhesive", "ink", "leather", "electronics", "auto repair",
                  "化工", "涂装", "家具", "塑料", "橡胶", "制药")


def industry_weight(industry: str) -> float:
    """1.0 for a priority sector, 0.7 for another VOC sector, 0.3 otherwise (matched in the lower-cased text)."""
    s = str(industry or "").lower()
    if any(k in s for k in PRIORITY_INDUSTRIES):
        return 1.0
    if any(k in s for k in VOC_INDUSTRIES):
        return 0.7
    return 0.3
