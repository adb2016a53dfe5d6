"""HJ 212 code tables: versions, system types (ST), commands (CN), data flags and pollutant codes.

The facts come from the standards' texts and their code appendices: HJ/T 212-2005, HJ 212-2017
(appendix B, "常用监测因子和设备信息编码表", whose "原编码" column gives each 2017 code's 2005 code)
and what is public of HJ 212-2025 (which replaces 2017 from 2026-01-01). Codes that are in none of
these tables (vendor codes such as ``100000``, 2005 equipment codes such as ``SB1``) are not errors:
they are kept as sent, with no name and no unit.

Units are plain ASCII (``mg/m3``, ``ug/m3``, ``L/s``, ``degC``…). ``unit`` is the standard's
default unit of the concentration / instantaneous value (``Rtd``, ``Avg``, ``Min``, ``Max`` and
the ``Zs`` converted values); ``cou_unit`` the unit of the cumulative amount (``Cou``). A device
may be configured otherwise; ambient-air stations (ST 22) report gases and particles in ug/m3
(CO in mg/m3), as GB 3095-2012 does, and :func:`item_unit` applies that.

Where the transcriptions of table B.2 disagree with what devices send, we follow the devices and
say so: three independent transcriptions give ng/m3 for PM10/PM2.5/TSP/PM1 (``a34001``–``a34005``),
methane (``a05002``) and ammonia (``a21001``); ambient monitors report particles in ug/m3 and stack
analysers methane and ammonia in mg/m3, which is what we use.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Flag bits 2–7 (the standard version, V5…V0) → the standard.
VERSIONS: dict[int, str] = {0: "2005", 1: "2017", 2: "2025"}
#: Version assumed for a packet without ``Flag`` (HJ/T 212-2005 made it optional; 2017 requires it).
DEFAULT_VERSION = "2005"

#: System types (ST), HJ 212-2017 §6.6.1 (21–41 and 91 also in HJ/T 212-2005).
SYSTEM_TYPES: dict[str, str] = {
    "21": "surface water quality", "22": "ambient air quality", "23": "acoustic environment",
    "24": "groundwater quality", "25": "soil quality", "26": "seawater quality",
    "27": "volatile organic compounds (ambient)", "31": "air pollution source",
    "32": "surface-water pollution source", "33": "groundwater pollution source",
    "34": "marine pollution source", "35": "soil pollution source", "36": "noise pollution source",
    "37": "vibration pollution source", "38": "radioactive pollution source",
    "41": "electromagnetic pollution source", "91": "system interaction",
}

#: Command codes (CN) → (English name, kind, period). ``kind``: data (pollutant values), status
#: (equipment state / running time), alarm, reply (9011–9014), heartbeat, request (host → field
#: commands and their uploads of settings). ``period`` for data: rtd, minute, hour, day.
COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "1000": ("set timeout and retry count", "request", None),
    "1001": ("set over-limit alarm time (2005)", "request", None),
    "1011": ("get / upload field-machine time", "request", None),
    "1012": ("set field-machine time", "request", None),
    "1013": ("field-machine time calibration request", "request", None),
    "1021": ("get / upload pollutant alarm limits (2005)", "request", None),
    "1022": ("set pollutant alarm limits (2005)", "request", None),
    "1031": ("get / upload host address (2005)", "request", None),
    "1032": ("set host address (2005)", "request", None),
    "1041": ("get / upload data report time (2005)", "request", None),
    "1042": ("set data report time (2005)", "request", None),
    "1061": ("get / upload real-time data interval", "request", None),
    "1062": ("set real-time data interval", "request", None),
    "1063": ("get / upload minute-data interval", "request", None),
    "1064": ("set minute-data interval", "request", None),
    "1072": ("set field-machine password", "request", None),
    "2011": ("real-time data", "data", "rtd"),
    "2012": ("stop real-time data", "request", None),
    "2021": ("equipment running status", "status", None),
    "2022": ("stop equipment running status", "request", None),
    "2031": ("daily data", "data", "day"),
    "2041": ("equipment running time, daily", "status", "day"),
    "2051": ("minute data", "data", "minute"),
    "2061": ("hourly data", "data", "hour"),
    "2071": ("get / upload pollutant alarm records (2005)", "alarm", None),
    "2072": ("alarm event (2005)", "alarm", None),
    "2081": ("data-logger start-up time", "status", None),
    "3011": ("zero / span calibration", "request", None),
    "3012": ("sample immediately", "request", None),
    "3013": ("start cleaning / blow-back (2017); instrument operation (2005)", "request", None),
    "3014": ("comparison sampling (2017); set sampling time (2005)", "request", None),
    "3015": ("over-limit sample retention", "request", None),
    "3016": ("set sampling period", "request", None),
    "3017": ("get / upload sampling period", "request", None),
    "3018": ("get / upload sample output time", "request", None),
    "3019": ("get / upload device unique id", "request", None),
    "3020": ("get / upload field-machine information", "request", None),
    "3021": ("set field-machine parameters", "request", None),
    "9011": ("request answer", "reply", None),
    "9012": ("execution result", "reply", None),
    "9013": ("notice answer", "reply", None),
    "9014": ("data answer", "reply", None),
    # Not in the 2005 or 2017 texts: vendor / provincial extensions seen in real traffic.
    "8013": ("heartbeat (vendor extension: HeartbeatTime)", "heartbeat", None),
    "9015": ("heartbeat / connection check (vendor extension)", "heartbeat", None),
}
#: Replies (interaction commands) by CN.
REPLY_CNS = frozenset({"9011", "9012", "9013", "9014"})
#: Heartbeats: not defined by HJ/T 212-2005 or HJ 212-2017; vendor extensions in real traffic.
HEARTBEAT_CNS = frozenset({"8013", "9015"})

#: QnRtn of a 9011 request answer.
QN_RTN: dict[str, str] = {
    "1": "ready to execute", "2": "request refused", "3": "PW error", "4": "MN error",
    "5": "ST error", "6": "Flag error", "7": "QN error", "8": "CN error", "9": "CRC error",
    "100": "unknown error",
}
#: ExeRtn of a 9012 execution result.
EXE_RTN: dict[str, str] = {
    "1": "executed", "2": "failed, reason unknown", "3": "command request condition error",
    "4": "communication timeout", "5": "system busy", "6": "system fault", "100": "no data",
}

#: Data flags (the ``-Flag`` item). P is HJ/T 212-2005 only; B came with 2017.
DATA_FLAGS: dict[str, str] = {
    "N": "normal", "F": "stopped (instrument or source shut down)", "M": "maintenance",
    "S": "manual input / set value", "D": "fault", "C": "calibration", "T": "above measuring range",
    "B": "communication fault between instrument and data logger", "P": "power fault (2005)",
}

#: Suffixes (``code-Suffix``) defined by the standards, with their meaning.
SUFFIXES: dict[str, str] = {
    "Rtd": "real-time value", "Avg": "average", "Min": "minimum", "Max": "maximum",
    "Cou": "cumulative amount", "ZsRtd": "converted real-time value", "ZsAvg": "converted average",
    "ZsMin": "converted minimum", "ZsMax": "converted maximum", "Flag": "data flag",
    "EFlag": "equipment flag", "SampleTime": "sample time", "RS": "running state",
    "RT": "running time", "Ala": "alarm value", "UpValue": "upper limit", "LowValue": "lower limit",
    "Data": "noise value", "DayData": "daytime noise", "NightData": "night-time noise", "Info": "information",
}
#: Suffixes whose value is the amount unit (``cou_unit``), not the concentration unit.
COU_SUFFIXES = frozenset({"Cou", "ZsCou"})
#: Suffixes that carry no physical unit.
UNITLESS_SUFFIXES = frozenset({"Flag", "EFlag", "SampleTime", "RS", "Info"})


@dataclass(frozen=True)
class Pollutant:
    """One code of the 2017 table: ``code`` (2017), English and Chinese names, units, 2005 code."""

    code: str
    name: str
    name_zh: str
    unit: str | None
    cou_unit: str | None = None
    code_2005: str | None = None


def _p(code, name, name_zh, unit, cou_unit=None, code_2005=None) -> Pollutant:
    return Pollutant(code, name, name_zh, unit, cou_unit, code_2005)


_MG, _KG = "mg/m3", "kg"
# HJ 212-2017 table B.2 (gases and stack parameters), with the 2005 code where there is one.
_AIR = [
    _p("a00000", "flue gas flow", "废气", "m3/s", "m3", "B02"),
    _p("a01001", "temperature", "温度", "degC"),
    _p("a01002", "relative humidity", "湿度", "%"),
    _p("a01006", "air pressure", "气压", "kPa"),
    _p("a01007", "wind speed", "风速", "m/s"),
    _p("a01008", "wind direction", "风向", "deg"),
    _p("a01010", "Ringelmann blackness", "林格曼黑度", "dimensionless", None, "37"),
    _p("a01011", "flue gas velocity", "烟气流速", "m/s", None, "S02"),
    _p("a01012", "flue gas temperature", "烟气温度", "degC", None, "S03"),
    _p("a01013", "flue gas pressure", "烟气压力", "kPa", None, "S08"),
    _p("a01014", "flue gas humidity", "烟气湿度", "%", None, "S05"),
    _p("a01015", "cooler temperature", "制冷温度", "degC", None, "S06"),
    _p("a01016", "flue cross-section area", "烟道截面积", "m2", None, "S07"),
    _p("a01017", "flue gas dynamic pressure", "烟气动压", "kPa", None, "S04"),
    _p("a01901", "incinerator furnace mean temperature", "垃圾焚烧炉膛内焚烧平均温度", "degC"),
    _p("a01902", "incinerator furnace DCS temperature", "垃圾焚烧炉膛内DCS温度", "degC"),
    _p("a05001", "carbon dioxide", "二氧化碳", _MG, _KG, "30"),
    _p("a05002", "methane", "甲烷", _MG, _KG),
    _p("a05008", "trichlorofluoromethane", "三氯一氟甲烷", _MG, _KG),
    _p("a05009", "dichlorodifluoromethane", "二氯二氟甲烷", _MG, _KG),
    _p("a05013", "trichlorotrifluoroethane", "三氯三氟乙烷", _MG, _KG),
    _p("a05024", "ozone", "臭氧", "ug/m3"),
    _p("a19001", "oxygen", "氧气含量", "%", None, "S01"),
    _p("a20007", "arsenic", "砷", "ng/m3", "g"),
    _p("a20016", "beryllium and compounds", "铍及其化合物", _MG, _KG, "36"),
    _p("a20025", "cadmium and compounds", "镉及其化合物", _MG, _KG, "33"),
    _p("a20026", "cadmium", "镉", "ng/m3", "g"),
    _p("a20043", "lead and compounds", "铅及其化合物", _MG, _KG, "32"),
    _p("a20044", "lead", "铅", "ng/m3", "g"),
    _p("a20057", "mercury and compounds", "汞及其化合物", _MG, _KG, "31"),
    _p("a20058", "mercury", "汞", "ng/m3", "g"),
    _p("a20063", "nickel and compounds", "镍及其化合物", _MG, _KG, "35"),
    _p("a20091", "tin and compounds", "锡及其化合物", _MG, _KG, "34"),
    _p("a21001", "ammonia", "氨（氨气）", _MG, _KG, "10"),
    _p("a21002", "nitrogen oxides", "氮氧化物", _MG, _KG, "03"),
    _p("a21003", "nitric oxide", "一氧化氮", _MG, _KG),
    _p("a21004", "nitrogen dioxide", "二氧化氮", _MG, _KG),
    _p("a21005", "carbon monoxide", "一氧化碳", _MG, _KG, "04"),
    _p("a21017", "cyanide", "氰化物", _MG, _KG, "07"),
    _p("a21018", "fluoride", "氟化物", _MG, _KG, "06"),
    _p("a21022", "chlorine", "氯气", _MG, _KG, "11"),
    _p("a21024", "hydrogen chloride", "氯化氢", _MG, _KG, "08"),
    _p("a21026", "sulfur dioxide", "二氧化硫", _MG, _KG, "02"),
    _p("a21028", "hydrogen sulfide", "硫化氢", _MG, _KG, "05"),
    _p("a23001", "phenols", "酚类", _MG, _KG, "27"),
    _p("a24003", "dichloromethane", "二氯甲烷", _MG, _KG),
    _p("a24004", "trichloromethane", "三氯甲烷", _MG, _KG),
    _p("a24005", "tetrachloromethane", "四氯甲烷", _MG, _KG),
    _p("a24015", "chloroethane", "氯乙烷", _MG, _KG),
    _p("a24016", "1,1-dichloroethane", "1,1-二氯乙烷", _MG, _KG),
    _p("a24017", "1,2-dichloroethane", "1,2-二氯乙烷", _MG, _KG),
    _p("a24018", "1,1,1-trichloroethane", "1,1,1-三氯乙烷", _MG, _KG),
    _p("a24036", "cyclohexane", "环己烷", _MG, _KG),
    _p("a24042", "n-hexane", "正己烷", _MG, _KG),
    _p("a24043", "n-heptane", "正庚烷", _MG, _KG),
    _p("a24046", "vinyl chloride", "氯乙烯", _MG, _KG, "29"),
    _p("a24049", "trichloroethylene", "三氯乙烯", _MG, _KG),
    _p("a24050", "tetrachloroethylene", "四氯乙烯", _MG, _KG),
    _p("a24053", "propylene", "丙烯", _MG, _KG),
    _p("a24078", "1,3-butadiene", "1,3-丁二烯", _MG, _KG),
    _p("a24087", "hydrocarbons", "碳氢化合物", _MG, _KG, "25"),
    _p("a24088", "non-methane hydrocarbons (NMHC)", "非甲烷总烃", _MG, _KG),
    _p("a24099", "chloromethane", "氯甲烷", _MG, _KG),
    _p("a25002", "benzene", "苯", _MG, _KG),
    _p("a25003", "toluene", "甲苯", _MG, _KG, "17"),
    _p("a25004", "ethylbenzene", "乙苯", _MG, _KG),
    _p("a25005", "xylene", "二甲苯", _MG, _KG, "18"),
    _p("a25006", "o-xylene", "1,2-二甲基苯", _MG, _KG),
    _p("a25007", "m-xylene", "1,3-二甲基苯", _MG, _KG),
    _p("a25008", "p-xylene", "1,4-二甲基苯", _MG, _KG),
    _p("a25010", "chlorobenzene", "氯苯", _MG, _KG, "23"),
    _p("a25019", "1,2,4-trimethylbenzene", "1,2,4-三甲基苯", _MG, _KG),
    _p("a25023", "nitrobenzene", "硝基苯", _MG, _KG, "22"),
    _p("a25038", "styrene", "乙烯基苯", _MG, _KG),
    _p("a25044", "benzo[a]pyrene", "苯并[a]芘", _MG, _KG, "20"),
    _p("a25072", "tetrahydrofuran", "四氢呋喃", _MG, _KG),
    _p("a26001", "anilines", "苯胺类", _MG, _KG, "21"),
    _p("a29017", "ethyl acetate", "乙酸乙酯", _MG, _KG),
    _p("a29026", "vinyl acetate", "乙酸乙烯酯", _MG, _KG),
    _p("a30001", "methanol", "甲醇", _MG, _KG, "28"),
    _p("a30008", "isopropanol", "异丙醇", _MG, _KG),
    _p("a30022", "mercaptans", "硫醇", _MG, _KG, "13"),
    _p("a31001", "formaldehyde", "甲醛", _MG, _KG, "19"),
    _p("a31002", "acetaldehyde", "乙醛", _MG, _KG, "26"),
    _p("a31024", "acetone", "丙酮", _MG, _KG),
    _p("a31025", "2-butanone", "2-丁酮", _MG, _KG),
    _p("a31030", "methyl isobutyl ketone", "甲基异丁基甲酮", _MG, _KG),
    _p("a34001", "total suspended particulates (TSP)", "总悬浮颗粒物TSP", "ug/m3", "g"),
    _p("a34002", "PM10", "可吸入颗粒物PM10", "ug/m3", "g"),
    _p("a34004", "PM2.5", "细微颗粒物PM2.5", "ug/m3", "g"),
    _p("a34005", "PM1.0", "亚微米颗粒物PM1.0", "ug/m3", "g"),
    _p("a34013", "dust (smoke)", "烟尘", _MG, _KG, "01"),
    _p("a34017", "carbon black dust", "炭黑尘", _MG, _KG),
    _p("a34038", "asphalt fume", "沥青烟", _MG, _KG, "09"),
    _p("a34039", "sulfuric acid mist", "硫酸雾", _MG, _KG, "14"),
    _p("a34040", "chromic acid mist", "铬酸雾", _MG, _KG, "15"),
    _p("a99010", "acrylonitrile", "丙烯腈", _MG, _KG),
    _p("a99049", "phosgene", "光气", _MG, _KG, "24"),
    _p("a99051", "carbon disulfide", "二硫化碳", _MG, _KG, "12"),
]
_ML = "mg/L"
# HJ 212-2017 table B.1 (water), with the 2005 code where there is one.
_WATER = [
    _p("w00000", "wastewater flow", "污水", "L/s", "m3", "B01"),
    _p("w01001", "pH", "pH值", "dimensionless", None, "001"),
    _p("w01002", "colour", "色度", "degree", None, "002"),
    _p("w01003", "turbidity", "浊度", "NTU"),
    _p("w01006", "total dissolved solids", "溶解性总固体", _ML, _KG),
    _p("w01009", "dissolved oxygen", "溶解氧", _ML),
    _p("w01010", "water temperature", "水温", "degC"),
    _p("w01012", "suspended solids", "悬浮物", _ML, _KG, "003"),
    _p("w01014", "conductivity", "电导率", "uS/cm"),
    _p("w01017", "BOD5", "五日生化需氧量", _ML, _KG, "010"),
    _p("w01018", "chemical oxygen demand (COD)", "化学需氧量", _ML, _KG, "011"),
    _p("w01019", "permanganate index", "高锰酸盐指数", _ML, _KG),
    _p("w01020", "total organic carbon", "总有机碳", _ML, _KG, "015"),
    _p("w02003", "faecal coliforms", "粪大肠菌群", "1/L", None, "550"),
    _p("w02006", "total bacteria", "细菌总数", "1/L"),
    _p("w03001", "gross alpha", "总α放射性", "Bq/L", None, "570"),
    _p("w03002", "gross beta", "总β放射性", "Bq/L", None, "571"),
    _p("w19001", "surfactants", "表面活性剂", _ML, _KG),
    _p("w19002", "anionic surfactants", "阴离子表面活性剂", _ML, _KG, "520"),
    _p("w20012", "barium", "钡", _ML, _KG, "039"),
    _p("w20023", "boron", "硼", _ML, _KG, "037"),
    _p("w20038", "cobalt", "钴", _ML, _KG, "040"),
    _p("w20061", "molybdenum", "钼", _ML, _KG, "038"),
    _p("w20089", "thallium", "铊", "ng/L", "mg", "041"),
    _p("w20092", "tin", "锡", _ML, _KG, "036"),
    _p("w20111", "total mercury", "总汞", "ug/L", "g", "020"),
    _p("w20113", "alkyl mercury", "烷基汞", "ng/L", "mg", "021"),
    _p("w20115", "total cadmium", "总镉", "ug/L", "g", "022"),
    _p("w20116", "total chromium", "总铬", _ML, _KG, "023"),
    _p("w20117", "hexavalent chromium", "六价铬", "ug/L", "g", "024"),
    _p("w20119", "total arsenic", "总砷", "ug/L", "g", "026"),
    _p("w20120", "total lead", "总铅", "ug/L", "g", "027"),
    _p("w20121", "total nickel", "总镍", _ML, _KG, "028"),
    _p("w20122", "total copper", "总铜", _ML, _KG, "029"),
    _p("w20123", "total zinc", "总锌", _ML, _KG, "030"),
    _p("w20124", "total manganese", "总锰", _ML, _KG, "031"),
    _p("w20125", "total iron", "总铁", _ML, _KG, "032"),
    _p("w20126", "total silver", "总银", _ML, _KG, "033"),
    _p("w20127", "total beryllium", "总铍", "ug/L", "g", "034"),
    _p("w20128", "total selenium", "总硒", "ug/L", "g", "035"),
    _p("w21001", "total nitrogen", "总氮", _ML, _KG, "065"),
    _p("w21003", "ammonia nitrogen", "氨氮", _ML, _KG, "060"),
    _p("w21004", "Kjeldahl nitrogen", "凯氏氮", _ML, _KG, "062"),
    _p("w21006", "nitrite", "亚硝酸盐", _ML, _KG, "063"),
    _p("w21007", "nitrate", "硝酸盐", _ML, _KG, "064"),
    _p("w21011", "total phosphorus", "总磷", _ML, _KG, "101"),
    _p("w21016", "cyanide", "氰化物", _ML, _KG, "070"),
    _p("w21017", "fluoride", "氟化物", _ML, _KG, "072"),
    _p("w21019", "sulfide", "硫化物", _ML, _KG, "071"),
    _p("w21022", "chloride", "氯化物", _ML, _KG, "090"),
    _p("w21038", "sulfate", "硫酸盐", _ML, _KG),
    _p("w22001", "petroleum oils", "石油类", _ML, _KG, "080"),
    _p("w23002", "volatile phenol", "挥发酚", _ML, _KG, "110"),
    _p("w25043", "benzo[a]pyrene", "苯并[a]芘", "ug/L", "g", "540"),
    _p("w33001", "hexachlorocyclohexane (HCH)", "六六六", "ng/L", "mg", "350"),
    _p("w33007", "DDT", "滴滴涕", "ng/L", "mg", "351"),
    _p("w99001", "organic nitrogen", "有机氮", _ML, _KG, "061"),
]

#: 2017 code → :class:`Pollutant`.
POLLUTANTS: dict[str, Pollutant] = {p.code: p for p in _AIR + _WATER}
#: 2005 code → 2017 code (from the 2017 table's "原编码" column). 2005 gas codes are two digits
#: or ``Sxx``/``B02``, water codes three digits or ``B01``: the two never collide.
CODES_2005: dict[str, str] = {p.code_2005: p.code for p in POLLUTANTS.values() if p.code_2005}

#: Ambient-air stations (ST 22) report these in ug/m3 (GB 3095-2012); CO stays mg/m3.
_AMBIENT_UG = frozenset({"a21026", "a21002", "a21003", "a21004", "a05024", "a34001", "a34002",
                         "a34004", "a34005", "a21001"})


def pollutant(code: str) -> Pollutant | None:
    """The table entry for ``code`` (a 2017 code, or a 2005 code mapped to 2017), or ``None``."""
    hit = POLLUTANTS.get(code)
    if hit is not None:
        return hit
    code_2017 = CODES_2005.get(code)
    return POLLUTANTS[code_2017] if code_2017 else None


def item_unit(code_2017: str | None, suffix: str, st: str | None = None) -> str | None:
    """Unit of the value of ``code-suffix``: the amount unit for ``Cou``, none for flags and
    times, otherwise the concentration unit (ug/m3 for ambient-air stations' gases and particles)."""
    p = POLLUTANTS.get(code_2017) if code_2017 else None
    if p is None or suffix in UNITLESS_SUFFIXES:
        return None
    if suffix in COU_SUFFIXES:
        return p.cou_unit
    if st == "22" and code_2017 in _AMBIENT_UG:
        return "ug/m3"
    return p.unit


def command(cn: str) -> tuple[str | None, str, str | None]:
    """``(name, kind, period)`` of a command code; unknown codes are ``(None, 'other', None)``."""
    return COMMANDS.get(cn, (None, "other", None))
