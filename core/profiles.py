"""Source profiles: the share of an enterprise's VOC emission that is benzene, toluene and xylene.

Analysers on the vans and drones report TVOC and, where they can, the BTX species. The ratios
differ by industry (printing inks are toluene-rich, coatings xylene-rich, chemical plants carry
more benzene, dyeing works emit little of any), which lets attribution tell apart neighbouring
sources whose plumes look alike. The table gives typical mass fractions of the TVOC rate by
industry keyword (English or Chinese, matched in the registry's ``industry``); real facilities
scatter around them (``PROFILE_REL_SD``). The numbers are illustrative orders of magnitude for
the bundled synthetic example, shared by the simulator and the analysis like the plume model;
a brigade replaces them with measured source profiles (stack tests, or a library such as
US EPA SPECIATE) before relying on species in attribution.
"""

from __future__ import annotations

import numpy as np

SPECIES: tuple[str, ...] = ("benzene", "toluene", "xylene")
# µg/m³ ↔ ppb at 25 °C and 101.325 kPa, the reference state for ambient air in China since 2018:
# ppb = µg/m³ × 24.465 / M (M in g/mol); mg/m³ = 1000 µg/m³; ppm = 1000 ppb.
MOLAR_VOLUME_25C_L_MOL = 24.465  # 8.314462618 × 298.15 / 101.325
# Molar masses (g/mol) by species name as it appears in sample columns (``no2_ppb`` → ``no2``).
# ``nmhc`` is non-methane hydrocarbons *as carbon* (12.011, one C atom): Chinese standards
# (HJ 604, HJ 38) report NMHC in mg/m³ as carbon, so its ppb are ppb of carbon atoms (ppbC).
# Mixtures measured as such (TVOC) have no molar mass: not converted unless a mapping gives one.
MOLAR_MASS_G_MOL = {
    "benzene": 78.11, "toluene": 92.14, "xylene": 106.17, "ethylbenzene": 106.17, "styrene": 104.15,
    "no2": 46.0055, "no": 30.006, "so2": 64.066, "o3": 47.998, "co": 28.010, "ch4": 16.043,
    "h2s": 34.08, "nh3": 17.031, "formaldehyde": 30.026, "hcho": 30.026, "methanol": 32.042,
    "acetone": 58.08, "ethanol": 46.07, "dichloromethane": 84.93, "trichloroethylene": 131.39,
    "co2": 44.009, "nmhc": 12.011,
}
PROFILE_REL_SD = 0.3  # log-scale scatter of one facility's fractions around its industry's
_PROFILES: tuple[tuple[tuple[str, ...], tuple[float, float, float]], ...] = (
    (("print", "packag", "印刷", "包装"), (0.004, 0.22, 0.10)),
    (("dye", "textile", "印染", "纺织"), (0.010, 0.05, 0.03)),
    (("chem", "化工", "pharma", "制药"), (0.040, 0.12, 0.08)),
    (("paint", "coat", "涂", "furniture", "家具"), (0.006, 0.18, 0.22)),
)
_DEFAULT_PROFILE = (0.010, 0.10, 0.05)


def species_profile(industry: str | None) -> tuple[float, float, float]:
    """Mass fractions (benzene, toluene, xylene) of a TVOC emission for an industry."""
    text = str(industry or "").lower()
    for keys, prof in _PROFILES:
        if any(k in text for k in keys):
            return prof
    return _DEFAULT_PROFILE


def ugm3_to_ppb(conc_ugm3, species: str) -> np.ndarray:
    """µg/m³ → ppb at 25 °C (24.465 L/mol)."""
    return np.asarray(conc_ugm3, float) * MOLAR_VOLUME_25C_L_MOL / MOLAR_MASS_G_MOL[species]


def ppb_to_ugm3(conc_ppb, species: str) -> np.ndarray:
    """ppb → µg/m³ at 25 °C (24.465 L/mol)."""
    return np.asarray(conc_ppb, float) * MOLAR_MASS_G_MOL[species] / MOLAR_VOLUME_25C_L_MOL
