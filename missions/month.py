"""The simulated month's world: emitters that start during the month, emit on some days, and stop when fixed.

A :class:`MonthWorld` holds the hidden emitters of a month of survey days (the persistent world of
:mod:`missions.persistent`, one ``run_demo(..., emitters=world.live(day))`` a survey day):

- **the first day's emitters** (the simulator's own draw, where day 1's plans can see them), each
  given a **duty cycle** ``p_emit`` — the share of days it emits (:data:`DUTY_CYCLES`, in turn);
- **new emitters**: at the start of each week after the first, a Poisson number of firms
  (``arrivals_per_week``) starts emitting on a day of that week. The firm is drawn among the
  area's firms with a stack, positive list or not, with probability in proportion to the registry
  prior's sector weight (:func:`ecopatrol.core.sectors.industry_weight`: priority
  industries 1.0, other VOC industries 0.7, the rest 0.3) — so new emitters are more often in the
  sectors the prior suspects, but can be anywhere; one of its stacks emits, at the persistent
  world's rate for that stack, with a duty cycle drawn from :data:`DUTY_CYCLES`;
- **rectification**: an on-site visit that finds an emitter (violation confirmed) fixes it: it
  emits no more (:meth:`MonthWorld.fix`).

**The stationary world** (``bench_month --world-mode stationary``; the above is ``seen``): the month
starts with ``n`` emitters drawn **by the same registry prior as the arrivals** (not where day 1's
plans see them: :meth:`MonthWorld.stationary`), emitting since before the month; each emitter fixed
on site is **replaced** at the start of the next week by one new emitter drawn the same way
(:meth:`MonthWorld.replenish`), so every survey day and every visit has exactly ``n`` live
emitters (each emitting that day with its duty cycle) and week 1's population is drawn like week
4's. The draw of the k-th replacement of a month is the same in both arms (stream
``replace:k``; a firm already emitting or fixed is skipped) and takes nothing from the plans.
What is *not* stationary, by nature rather than construction: the brigade's hits remove the
emitters its surveys see, so the survivors are more often those it cannot see.

All draws come from ``seed`` (one generator per named stream), so a month is reproducible and the
two arms of an ablation with the same seed live in the same world until their visits differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from ._world import rng_for

#: Duty cycles (share of days emitting) given in turn to the first day's emitters and drawn for new ones.
DUTY_CYCLES = (1.0, 0.4, 0.6, 0.4)


@dataclass
class MonthWorld:
    """Hidden emitters of a month: ``emitters`` maps a source id to ``{source_id, enterprise_id,
    rate_g_s, p_emit, start, species_mass_fraction?}`` (``start``: the first day it emits)."""

    seed: int
    emitters: dict[str, dict] = field(default_factory=dict)
    fixed: dict[str, date] = field(default_factory=dict)  # enterprise id → day fixed
    replaced: int = 0  # fixed emitters already replaced (the stationary world)

    @classmethod
    def from_truth(cls, truth: dict, *, seed: int, start: date) -> MonthWorld:
        """The world of a first survey day's ``truth.json``, duty cycles from :data:`DUTY_CYCLES` in turn."""
        w = cls(seed=seed)
        for i, e in enumerate(list(truth.get("emitters") or []) + list(truth.get("dormant_emitters") or [])):
            w.emitters[str(e["source_id"])] = {
                "source_id": str(e["source_id"]), "enterprise_id": str(e["enterprise_id"]),
                "rate_g_s": float(e["rate_g_s"]), "p_emit": DUTY_CYCLES[i % len(DUTY_CYCLES)], "start": start,
                "species_mass_fraction": e.get("species_mass_fraction")}
        return w

    def add_arrivals(self, area, week_start: date, *, per_week: float, days: int = 7) -> list[dict]:
        """Draw the week's new emitters (Poisson ``per_week``), each starting on a day of the week."""
        rng = rng_for(self.seed, f"arrivals:{week_start.isoformat()}")
        n = int(rng.poisson(per_week))
        new = []
        prior = _sector_prior(area) if n else None
        for _ in range(n):
            pick = self._draw_source(prior, rng)
            if pick is None:
                break
            sid, eid = pick
            self.emitters[sid] = {"source_id": sid, "enterprise_id": eid, "rate_g_s": None,
                                  "p_emit": float(rng.choice(DUTY_CYCLES)),
                                  "start": week_start + timedelta(days=int(rng.integers(0, days)))}
            new.append(self.emitters[sid])
        return new

    @classmethod
    def stationary(cls, area, *, seed: int, n: int, start: date) -> MonthWorld:
        """``n`` emitters drawn by the registry prior's sector weights (as arrivals are), live from ``start``."""
        w = cls(seed=seed)
        rng = rng_for(seed, "stationary:initial")
        prior = _sector_prior(area)
        for _ in range(n):
            w._add(prior, rng, start)
        return w

    def replenish(self, area, week_start: date) -> list[dict]:
        """One new emitter (prior-drawn, live from ``week_start``) for each fixed firm not yet replaced:
        the live count stays at the month's ``n`` (:meth:`stationary`)."""
        new, prior = [], None
        while self.replaced < len(self.fixed):
            prior = prior or _sector_prior(area)
            e = self._add(prior, rng_for(self.seed, f"replace:{self.replaced}"), week_start)
            self.replaced += 1
            if e is not None:
                new.append(e)
        return new

    def _add(self, prior, rng, start: date) -> dict | None:
        """A firm drawn by the prior over all firms with a stack, redrawn while already taken (so
        the same stream gives the same firm in both arms unless one of them has it), one of its stacks."""
        firms, weights, stacks = prior
        taken = {e["enterprise_id"] for e in self.emitters.values()}
        if len(taken) >= len(firms):
            return None
        eid = firms[int(rng.choice(len(firms), p=weights / weights.sum()))]
        while eid in taken:
            eid = firms[int(rng.choice(len(firms), p=weights / weights.sum()))]
        sid = stacks[eid][int(rng.integers(0, len(stacks[eid])))]
        self.emitters[sid] = {"source_id": sid, "enterprise_id": eid, "rate_g_s": None,
                              "p_emit": float(rng.choice(DUTY_CYCLES)), "start": start}
        return self.emitters[sid]

    def _draw_source(self, prior, rng) -> tuple[str, str] | None:
        firms, weights, stacks = prior
        taken = {e["enterprise_id"] for e in self.emitters.values()}
        free = [i for i, f in enumerate(firms) if f not in taken]
        if not free:
            return None
        w = weights[free]
        eid = firms[free[int(rng.choice(len(free), p=w / w.sum()))]]
        return stacks[eid][int(rng.integers(0, len(stacks[eid])))], eid

    def live(self, day: date) -> list[dict]:
        """The spec for ``simulate(..., emitters=…)`` on ``day``: started, not fixed (each still emits
        that day only with its ``p_emit``)."""
        out = []
        for e in self.emitters.values():
            if e["start"] <= day and e["enterprise_id"] not in self.fixed:
                out.append({k: v for k, v in e.items() if k != "start" and v is not None})
        return out

    def emitting_firms(self, day: date) -> set[str]:
        """Firms with a live (started, unfixed) emitter on ``day``: what an on-site visit would find."""
        return {e["enterprise_id"] for e in self.live(day)}

    def fix(self, enterprise_id: str, day: date) -> None:
        self.fixed.setdefault(enterprise_id, day)

    def copy(self) -> MonthWorld:
        return MonthWorld(self.seed, {k: dict(v) for k, v in self.emitters.items()}, dict(self.fixed), self.replaced)


def _sector_prior(area) -> tuple[list[str], np.ndarray, dict[str, list[str]]]:
    """Firms with a stack (sorted), their sector weights, and each firm's stacks (sorted)."""
    from ecopatrol.core.sectors import industry_weight as _industry_weight

    src = area.sources
    ind = area.enterprises.drop_duplicates("enterprise_id").set_index("enterprise_id")["industry"]
    stacks: dict[str, list[str]] = {}
    for sid, eid in sorted(zip(src["source_id"].astype(str), src["enterprise_id"].astype(str), strict=True)):
        stacks.setdefault(eid, []).append(sid)
    firms = sorted(stacks)
    w = np.array([_industry_weight(ind.get(f, "")) for f in firms], float)
    return firms, w, stacks
