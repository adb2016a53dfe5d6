"""The parameters of every alarm rule, in one place: :class:`AlarmRules`.

Every number an alarm rule uses is a field here, with its default and why. None of them was tuned
to the simulator or to the real traffic: they are what the rule's words say ("zero flue-gas flow",
"about 21 % O2", "treatment stopped while production runs") put into numbers a person can check
and change (``ecopatrol monitor alarms`` prints them in its JSON; the alarms' ``rule`` column names
the values that fired). ``strength`` is the weight an alarm of that kind carries as evidence for
targeting (0–1, :mod:`.evidence`): a judgement of how often such an alarm means a firm that emits
out of compliance, not a measured rate — exceedances and a treatment plant off while production
runs are the strongest, data-quality alarms the weakest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Alarm kinds and what they mean (English; Chinese for the report and the map).
ALARM_KINDS: dict[str, tuple[str, str]] = {
    "exceedance": ("hourly average above the emission limit", "小时均值超标"),
    "flatline": ("implausibly constant values", "数据恒值（疑似造假或故障）"),
    "maintenance_in_production": ("maintenance or calibration flags while production runs", "生产时段维护/校准标记"),
    "long_fault_flag": ("long stopped, fault or communication-fault flags", "长时间停运/故障/通讯异常标记"),
    "data_gap": ("no data for a long time", "数据缺失"),
    "incomplete_day": ("daily completeness below the target", "日数据完整率不足"),
    "no_data": ("a registered monitor sent nothing", "登记监测设备无数据"),
    "zero_flow_in_production": ("zero flue-gas flow or ambient O2 while production runs", "生产时烟气流量为零或氧含量接近21%"),
    "treatment_stopped": ("treatment stopped while production runs", "生产时治污设施停运"),
    "treatment_idle": ("treatment idling while production runs", "生产时治污设施空转"),
    "treatment_derated": ("treatment derated while production runs", "生产时治污设施降负荷运行"),
    "treatment_started_late": ("treatment started after production", "治污设施晚于生产启动"),
    "power_negatively_correlated": ("production and treatment power negatively correlated", "生产与治污用电负相关"),
    "night_production": ("night use far above day use", "夜间用电远高于白天"),
}


def _strengths() -> dict[str, float]:
    return {"exceedance": 0.6, "flatline": 0.4, "maintenance_in_production": 0.3, "long_fault_flag": 0.2,
            "data_gap": 0.1, "incomplete_day": 0.1, "no_data": 0.15, "zero_flow_in_production": 0.5,
            "treatment_stopped": 0.6, "treatment_idle": 0.5, "treatment_derated": 0.3,
            "treatment_started_late": 0.3, "power_negatively_correlated": 0.4, "night_production": 0.3}


@dataclass(frozen=True)
class AlarmRules:
    """Parameters of the alarm rules (defaults documented field by field).

    Times of day are local (``timezone``); durations in minutes; powers in kW.
    """

    timezone: str = "Asia/Shanghai"
    #: Data flags that mark a value valid (HJ 212: N normal). A value sent without a flag counts as valid.
    valid_flags: tuple[str, ...] = ("N",)

    # -- exceedance ----------------------------------------------------------------------------
    #: An hourly average from real-time or minute data needs this many valid readings in the hour
    #: (hourly packets, CN 2061, are used as sent and preferred when present).
    min_readings_per_hour: int = 3
    #: Limit sets applied to data loggers that no monitors file names (``--limits-for-unknown``): none
    #: by default — which standard applies to an unknown station is not known.
    limits_for_unknown: tuple[str, ...] = ()

    # -- flatline ------------------------------------------------------------------------------
    #: A run of readings each within ``max(abs_tol, rel_tol × |value|)`` of the one before…
    flatline_abs_tol: float = 1e-9
    flatline_rel_tol: float = 0.001
    #: …at least this many readings and this long is implausibly constant (a live analyser's noise
    #: moves its last digits within minutes).
    flatline_min_readings: int = 6
    flatline_min_minutes: float = 60.0
    #: Values at or below this are not flatlines (an analyser reading 0 below its detection limit).
    flatline_ignore_at_or_below: float = 0.0
    #: Codes that are constant by nature: flue cross-section area (a01016, 2005 S07).
    flatline_exclude_codes: tuple[str, ...] = ("a01016", "S07")

    # -- flags ---------------------------------------------------------------------------------
    #: Maintenance (M) or calibration (C) this long while production runs is suspicious (a daily
    #: automatic zero/span check takes minutes).
    maintenance_min_minutes: float = 30.0
    #: Without a production meter, production hours are taken as these local hours [start, end).
    production_hours_local: tuple[int, int] = (8, 18)
    #: Stopped (F), fault (D), communication fault (B) or power fault (P, 2005) this long is an alarm.
    fault_flags: tuple[str, ...] = ("F", "D", "B", "P")
    fault_min_minutes: float = 120.0

    # -- missing data --------------------------------------------------------------------------
    #: No data from a logger for longer than this is a gap (minutes).
    gap_min_minutes: float = 60.0
    #: A local day (the part of it inside the window) with fewer hours of valid data than this
    #: share is incomplete. HJ 75-2017 sets capture-rate requirements for CEMS; this target is
    #: ours (not checked against its text).
    min_completeness: float = 0.9

    # -- zero flow / ambient O2 --------------------------------------------------------------------
    flow_codes: tuple[str, ...] = ("a00000",)
    o2_codes: tuple[str, ...] = ("a19001",)
    #: Flue-gas flow at or below this (in the unit sent) is zero.
    zero_flow_max: float = 0.0
    #: O2 at or above this (%) is ambient air (21 %): the probe samples air, not flue gas.
    ambient_o2_min_pct: float = 20.5
    zero_flow_min_minutes: float = 30.0

    # -- electricity -----------------------------------------------------------------------------
    #: Meter readings are averaged onto this grid (minutes).
    power_grid_minutes: float = 5.0
    #: Production runs when its power exceeds both this and ``production_on_fraction`` × its rated
    #: power (``rated_kw``, else its 95th percentile in the window).
    production_on_kw: float = 1.0
    production_on_fraction: float = 0.2
    #: Treatment power as a share of its reference (``rated_kw``, else its 90th percentile while
    #: production runs): below ``stopped`` it is stopped, below ``idle`` idling, below ``derated``
    #: derated.
    treatment_stopped_fraction: float = 0.05
    treatment_idle_fraction: float = 0.3
    treatment_derated_fraction: float = 0.7
    #: A treatment state below normal lasting this long while production runs is an alarm.
    treatment_min_minutes: float = 15.0
    #: Treatment reaching ``treatment_idle_fraction`` later than this after production starts is late.
    treatment_start_lag_minutes: float = 10.0
    #: A local day whose production and treatment power correlate at or below this (Pearson r,
    #: at least ``correlation_min_points`` grid points) is an alarm.
    negative_correlation_max_r: float = -0.5
    correlation_min_points: int = 12
    #: Night hours [start, end) local; night production power above ``night_ratio`` × the day's
    #: (and above ``production_on_kw``) is an alarm.
    night_hours_local: tuple[int, int] = (22, 6)
    night_ratio: float = 2.0
    night_min_points: int = 6

    #: Evidence weight of each alarm kind (see the module docstring).
    strength: dict[str, float] = field(default_factory=_strengths)

    def as_dict(self) -> dict:
        return asdict(self)

    def strength_of(self, kind: str) -> float:
        return float(self.strength.get(kind, 0.1))
