"""The one message catalogue of the report and the map: every user-facing string in en and zh.

``t(key, lang, **fields)`` formats the message ``key`` in ``lang`` (``"en"`` or ``"zh"``);
:class:`Tr` binds a language. Field names in files (CSV columns, JSON keys, layer keys of
``window.ecopatrol``) stay stable English; only what people read is translated. Reasons in
``targets.csv`` are shown as written (they are English sentences of the targeting step).

The default language (:func:`resolve_lang`, the one resolver in :mod:`ecopatrol.core.i18n`, which
the command line uses too) is the area's: ``language`` in ``area.toml``, else Chinese when the
area is in China (its rules' country, or where its registry lies), else English; with no area at
all, English. Keys this catalogue lacks are looked up in the command line's part
(:data:`ecopatrol.core._messages.MESSAGES`).
"""

from __future__ import annotations

import logging

from ecopatrol.core import i18n as _core_i18n

log = logging.getLogger(__name__)

LANGS = _core_i18n.LANGS
#: Font stack of the report and the map: Latin first, then Simplified Chinese.
FONT_STACK = ('"Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
              '"WenQuanYi Micro Hei", Arial, sans-serif')
#: The same for matplotlib (per-glyph fallback, matplotlib ≥ 3.6).
MPL_FONTS = ["DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei"]

CATALOGUE: dict[str, dict[str, str]] = {
    # --- report: header, sections, cards -------------------------------------------------------
    "report.title": {"en": "ecopatrol daily report — {name}", "zh": "ecopatrol 巡查日报 — {name}"},
    "report.field_day": {"en": "Field day {day} ({tz})", "zh": "外业日期 {day}（{tz}）"},
    "report.generated": {"en": "generated {time} from", "zh": "生成于 {time}，数据目录"},
    "report.synthetic": {"en": "synthetic example data", "zh": "合成示例数据"},
    "report.footer": {"en": "ecopatrol — coordinates WGS-84 (lon, lat), times {tz} unless marked; print from "
                            "the browser to save as PDF (one sheet per target).",
                      "zh": "ecopatrol — 坐标为 WGS-84（经度, 纬度），时间为{tz}（另有标注除外）；在浏览器中打印即可"
                            "另存为 PDF（每个对象一页检查单）。"},
    "sec.summary": {"en": "Summary", "zh": "概要"},
    "sec.flown": {"en": "Flown and driven", "zh": "飞行与走航"},
    "sec.samples": {"en": "Samples kept and quarantined", "zh": "有效样本与隔离记录"},
    "sec.events": {"en": "Plume events", "zh": "烟羽事件"},
    "sec.hotspots": {"en": "Hotspots", "zh": "热点"},
    "sec.targets": {"en": "Inspection targets", "zh": "检查对象"},
    "sec.figures": {"en": "Passes and curtains", "zh": "走航过程与垂直剖面"},
    "sec.sheets": {"en": "Sheets for the inspectors", "zh": "现场检查单"},
    "card.sorties": {"en": "drone sorties planned", "zh": "计划无人机架次"},
    "card.flight_km": {"en": "flight distance (plan)", "zh": "计划飞行距离"},
    "card.routes": {"en": "van routes planned", "zh": "计划走航路线"},
    "card.drive_km": {"en": "driving distance (plan)", "zh": "计划走航距离"},
    "card.samples": {"en": "samples kept", "zh": "有效样本"},
    "card.quarantined": {"en": "rows quarantined", "zh": "隔离行数"},
    "card.events": {"en": "plume events", "zh": "烟羽事件"},
    "card.hotspots": {"en": "hotspots (levels merged)", "zh": "热点（置信度已合并）"},
    "card.targets": {"en": "ranked targets", "zh": "排序对象"},
    "h3.drone_plan": {"en": "Drone sorties (plan)", "zh": "无人机架次（计划）"},
    "h3.van_plan": {"en": "Van routes (plan)", "zh": "走航路线（计划）"},
    "h3.covered": {"en": "What the samples show was covered", "zh": "样本显示的实际覆盖"},
    "h3.quarantine": {"en": "Quarantine: {n} rows", "zh": "隔离记录：{n} 行"},
    "na": {"en": "{what} not available in this folder.", "zh": "此目录中没有{what}。"},
    "na.drone_plan": {"en": "A drone plan", "zh": "无人机计划"},
    "na.van_plan": {"en": "A van plan", "zh": "走航计划"},
    "na.samples": {"en": "Samples", "zh": "样本数据"},
    "na.events": {"en": "Plume events", "zh": "烟羽事件"},
    "na.hotspots": {"en": "Hotspot evidence", "zh": "热点证据"},
    "na.targets": {"en": "targets.csv", "zh": "排序结果 targets.csv"},
    "none": {"en": "none", "zh": "无"},
    "samples.kept": {"en": "{n} samples kept, {f} of them carry QA flags; {u} are unusable ({flags}) and are left "
                           "out of every figure.",
                     "zh": "有效样本 {n} 个，其中 {f} 个带质控标记；{u} 个不可用（{flags}），不参与任何图表。"},
    "samples.no_quarantine": {"en": "No input rows were quarantined.", "zh": "没有输入行被隔离。"},
    "events.summary": {"en": "{n} events, {c} confirmed on more than one pass.",
                       "zh": "共 {n} 个事件，其中 {c} 个经多次走航确认。"},
    "events.none": {"en": "No plume event was detected.", "zh": "未检测到烟羽事件。"},
    "events.more": {"en": "{k} more events in evidence/events.gpkg.", "zh": "另有 {k} 个事件见 evidence/events.gpkg。"},
    "hotspots.fig_title": {"en": "Hotspots and ranked targets", "zh": "热点与排序对象"},
    "hotspots.caption": {"en": "Hotspot raster, Gi* hotspots coloured by their best confidence level, enterprises, "
                               "plume events (triangles) and target ranks (WGS-84).",
                         "zh": "热点栅格、按最高置信度着色的 Gi* 热点、企业、烟羽事件（三角形）与对象排名（WGS-84）。"},
    "hotspots.merged": {"en": "{n} Gi* polygons at 90/95/99 % merged into {m} hotspots: one row per outer (90 %) "
                              "polygon, carrying the best level found inside it.",
                        "zh": "{n} 个 90/95/99 % 置信度的 Gi* 多边形合并为 {m} 个热点：每个外层（90 %）多边形一行，"
                              "取其内部的最高置信度。"},
    "targets.visits": {"en": "Visit budget: the first {k} firms are marked to visit (★); the model expects {exp} "
                              "emitters among them and gives {p1} that at least one emits — read with the "
                              "reliability table of BENCHMARKS.md, as calibrated as the probabilities are.",
                       "zh": "检查预算：前 {k} 家企业标记为现场检查（★）；模型预计其中有 {exp} 家排放，"
                             "至少一家排放的概率为 {p1}——其可信程度取决于概率的校准（见 BENCHMARKS.md 可靠性表）。"},
    "targets.visits_calibrated": {"en": "Visit budget: the first {k} firms are marked to visit (★); {exp} emitters are "
                                        "expected among them and {p1} that at least one emits, from the emission "
                                        "probabilities recalibrated on simulated development scenarios (BENCHMARKS.md, "
                                        "reliability table) — no calibration on real surveys has been measured.",
                                  "zh": "检查预算：前 {k} 家企业标记为现场检查（★）；按经模拟开发情景校准的排放概率，预计其中有 "
                                        "{exp} 家排放，至少一家排放的概率为 {p1}（见 BENCHMARKS.md 可靠性表）——尚未在真实走航数据上校准。"},
    "col.visit": {"en": "to visit", "zh": "现场检查"},
    "targets.top": {"en": "The top {n} of {total} ranked targets; the full list is in targets.csv.",
                    "zh": "共 {total} 个排序对象，此处列出前 {n} 个；完整列表见 targets.csv。"},
    "figures.pass_target": {"en": "Time series of {m} pass {p}: the pass of the top target's strongest plume event "
                                  "({ev}); plume events shaded.",
                            "zh": "{m} 第 {p} 趟的时间序列：排名第一对象最强烟羽事件（{ev}）所在的一趟；阴影为烟羽事件。"},
    "figures.pass_event": {"en": "Time series of {m} pass {p}: the pass of the strongest plume event ({ev}); plume "
                                 "events shaded.",
                           "zh": "{m} 第 {p} 趟的时间序列：最强烟羽事件（{ev}）所在的一趟；阴影为烟羽事件。"},
    "figures.pass_peak": {"en": "Time series of {m} pass {p}: the pass with the highest usable peak.",
                          "zh": "{m} 第 {p} 趟的时间序列：可用数据峰值最高的一趟。"},
    "figures.flagged_out": {"en": "{k} flagged samples of this pass left out.", "zh": "本趟 {k} 个带不可用标记的样本未绘出。"},
    "figures.curtain": {"en": "Curtain cross-section of sortie {m} ({src}): {n} curtain samples at {lv} heights, "
                              "linearly interpolated; transit, background and climb-out samples left out.",
                        "zh": "架次 {m} 的垂直剖面（{src}）：剖面内 {n} 个样本、{lv} 个高度层，线性插值；"
                              "转场、背景和爬升样本未计入。"},
    "figures.curtain_plan": {"en": "plane of the planned sample waypoints", "zh": "按计划采样航点确定剖面"},
    "figures.curtain_samples": {"en": "plane found in the samples", "zh": "由样本确定剖面"},
    "figures.no_curtain": {"en": "No drone curtain (samples in one vertical plane at several heights) in this folder.",
                           "zh": "此目录中没有无人机垂直剖面（同一竖直面内多个高度的样本）。"},
    # --- figures (matplotlib) ------------------------------------------------------------------
    "fig.lon": {"en": "longitude (°E, WGS-84)", "zh": "经度（°E，WGS-84）"},
    "fig.lat": {"en": "latitude (°N)", "zh": "纬度（°N）"},
    "fig.time": {"en": "time ({tz})", "zh": "时间（{tz}）"},
    "fig.height": {"en": "height AGL (m)", "zh": "离地高度（m）"},
    "fig.along": {"en": "distance along the curtain (m)", "zh": "沿剖面距离（m）"},
    "fig.pass_title": {"en": "{m} pass {p}: {name}, {n} samples, {k} event(s)",
                       "zh": "{m} 第 {p} 趟：{name}，{n} 个样本，{k} 个事件"},
    "fig.curtain_title": {"en": "Curtain {m}: {name} cross-section ({n} curtain samples)",
                          "zh": "剖面 {m}：{name} 垂直分布（{n} 个剖面样本）"},
    "fig.plume_event": {"en": "plume event", "zh": "烟羽事件"},
    "fig.bin_means": {"en": "samples (bin means)", "zh": "样本（分箱均值）"},
    "fig.samples": {"en": "samples", "zh": "样本"},
    "fig.enterprises": {"en": "enterprises", "zh": "企业"},
    "fig.events": {"en": "plume events ({n})", "zh": "烟羽事件（{n}）"},
    "fig.too_few": {"en": "too few samples for a cross-section", "zh": "样本过少，无法绘制剖面"},
    # --- columns shown to people ---------------------------------------------------------------
    "col.sortie": {"en": "sortie", "zh": "架次"},
    "col.aircraft": {"en": "aircraft", "zh": "机型"},
    "col.launch": {"en": "launch", "zh": "起飞点"},
    "col.waypoints": {"en": "waypoints", "zh": "航点数"},
    "col.heights": {"en": "heights (m AGL)", "zh": "高度（m，离地）"},
    "col.distance_km": {"en": "distance (km)", "zh": "距离（km）"},
    "col.duration_min": {"en": "duration (min)", "zh": "时长（min）"},
    "col.battery_pct": {"en": "battery (%)", "zh": "电池（%）"},
    "col.targets": {"en": "targets", "zh": "对象"},
    "col.route": {"en": "route", "zh": "路线"},
    "col.monitoring_legs": {"en": "monitoring legs", "zh": "监测路段"},
    "col.background_legs": {"en": "background legs", "zh": "背景路段"},
    "col.targets_covered": {"en": "targets covered", "zh": "已覆盖对象"},
    "col.targets_dropped": {"en": "targets dropped", "zh": "未覆盖对象"},
    "col.platform": {"en": "platform", "zh": "平台"},
    "col.mission": {"en": "mission", "zh": "任务"},
    "col.samples": {"en": "samples", "zh": "样本数"},
    "col.start_local": {"en": "start ({tz})", "zh": "开始（{tz}）"},
    "col.passes": {"en": "passes", "zh": "趟数"},
    "col.qa_flag": {"en": "QA flag", "zh": "质控标记"},
    "col.usable": {"en": "usable", "zh": "可用"},
    "col.species": {"en": "species", "zh": "物种"},
    "col.valid": {"en": "valid", "zh": "有效值"},
    "col.median": {"en": "median", "zh": "中位数"},
    "col.p95": {"en": "p95", "zh": "95 分位"},
    "col.max_usable": {"en": "max (usable)", "zh": "最大值（可用）"},
    "col.file": {"en": "file", "zh": "文件"},
    "col.reason": {"en": "reason", "zh": "原因"},
    "col.rows": {"en": "rows", "zh": "行数"},
    "col.event": {"en": "event", "zh": "事件"},
    "col.start": {"en": "start", "zh": "开始"},
    "col.duration_s": {"en": "duration (s)", "zh": "持续（s）"},
    "col.duration": {"en": "duration", "zh": "时长"},
    "col.peak": {"en": "peak", "zh": "峰值"},
    "col.peak_enhancement": {"en": "peak enhancement", "zh": "峰值增量"},
    "col.confirmed": {"en": "confirmed", "zh": "已确认"},
    "col.hotspot": {"en": "hotspot", "zh": "热点"},
    "col.best_level": {"en": "best level (%)", "zh": "最高置信度（%）"},
    "col.levels": {"en": "levels (%)", "zh": "置信度层级（%）"},
    "col.area_ha": {"en": "area (ha)", "zh": "面积（公顷）"},
    "col.max_value": {"en": "max", "zh": "最大值"},
    "col.location": {"en": "location (WGS-84)", "zh": "位置（WGS-84）"},
    "col.rank": {"en": "rank", "zh": "排名"},
    "col.id": {"en": "id", "zh": "企业编号"},
    "col.name": {"en": "name", "zh": "企业名称"},
    "col.industry": {"en": "industry", "zh": "行业"},
    "col.positive_list": {"en": "positive list", "zh": "正面清单"},
    "col.score": {"en": "score", "zh": "得分"},
    "col.emit_probability": {"en": "emission probability", "zh": "排放概率"},
    "col.est_rate": {"en": "est. rate (g/s)", "zh": "估算排放（g/s）"},
    "col.reasons": {"en": "reasons (as written)", "zh": "理由（原文）"},
    "col.park": {"en": "park", "zh": "园区"},
    "col.airspace": {"en": "airspace", "zh": "空域"},
    "col.last_inspected": {"en": "last inspected", "zh": "上次检查"},
    "col.violations_3y": {"en": "violations (3 y)", "zh": "近三年违法次数"},
    "col.target_rank": {"en": "target rank", "zh": "对象排名"},
    "col.zone": {"en": "zone", "zh": "区域"},
    "col.kind": {"en": "kind", "zh": "类型"},
    "col.ceiling": {"en": "ceiling", "zh": "限高"},
    "col.platform_mission_pass": {"en": "platform / mission / pass", "zh": "平台 / 任务 / 趟次"},
    "col.wind": {"en": "wind", "zh": "风"},
    "col.distance": {"en": "distance", "zh": "距离"},
    "col.target": {"en": "target", "zh": "对象"},
    "col.pass": {"en": "pass", "zh": "趟次"},
    "col.street": {"en": "street", "zh": "道路"},
    "col.speed": {"en": "speed", "zh": "车速"},
    "col.battery": {"en": "battery", "zh": "电池"},
    "col.evidence": {"en": "evidence", "zh": "证据"},
    "col.enterprise": {"en": "enterprise", "zh": "企业"},
    "col.likelihood": {"en": "likelihood", "zh": "似然"},
    "col.rate": {"en": "rate", "zh": "排放速率"},
    "col.why": {"en": "why", "zh": "说明"},
    "col.time": {"en": "time ({tz})", "zh": "时间（{tz}）"},
    "col.flux": {"en": "flux (g/s)", "zh": "通量（g/s）"},
    "col.heights_n": {"en": "heights", "zh": "高度层数"},
    "col.note": {"en": "note", "zh": "备注"},
    # --- per-target sheets ---------------------------------------------------------------------
    "sheet.title": {"en": "Inspection sheet — target #{rank}: {name}", "zh": "现场检查单 — 第 {rank} 号对象：{name}"},
    "sheet.address": {"en": "address", "zh": "地址"},
    "sheet.positive_yes": {"en": "on the positive list (a trusted firm: visit on evidence only)",
                           "zh": "正面清单企业（守信企业：有证据时才现场检查）"},
    "sheet.positive_no": {"en": "not on the positive list", "zh": "非正面清单企业"},
    "sheet.seen": {"en": "What was seen", "zh": "监测发现"},
    "sheet.when": {"en": "When", "zh": "时间"},
    "sheet.sure": {"en": "How sure", "zh": "可信度"},
    "sheet.history": {"en": "Inspections and violations", "zh": "检查与违法记录"},
    "sheet.reasons": {"en": "Reasons (as written by the ranking)", "zh": "排序理由（原文）"},
    "sheet.signal": {"en": "sparse attribution over all samples: signal {sig}, probability {p}, {rate} g/s if it emits",
                     "zh": "全部样本稀疏归因：信号 {sig}，概率 {p}，如排放则约 {rate} g/s"},
    "sheet.nnls": {"en": "estimated emission (all samples, NNLS): {r} ± {sd} g/s",
                   "zh": "估算排放（全部样本 NNLS）：{r} ± {sd} g/s"},
    "sheet.events": {"en": "{n} plume events attributed ({c} confirmed on several passes); the strongest:",
                     "zh": "归因烟羽事件 {n} 个（{c} 个经多趟确认）；最强的几个："},
    "sheet.flux": {"en": "curtain flux, sortie {s}: {f} ± {sd} g/s ({detail})",
                   "zh": "垂直剖面通量，架次 {s}：{f} ± {sd} g/s（{detail}）"},
    "sheet.flux_levels": {"en": "{n} heights", "zh": "{n} 个高度层"},
    "sheet.flux_distance": {"en": "{d} m from the site", "zh": "距厂址 {d} m"},
    "sheet.hotspots": {"en": "Gi* hotspots attributed: {ids}", "zh": "归因 Gi* 热点：{ids}"},
    "sheet.nothing_seen": {"en": "No plume evidence attributed to this enterprise: it is ranked on registry risk.",
                           "zh": "无归因于该企业的烟羽证据：按登记风险排序。"},
    "sheet.when_events": {"en": "plume events {first} – {last} ({tz})", "zh": "烟羽事件 {first} – {last}（{tz}）"},
    "sheet.when_sortie": {"en": "curtain sortie {s}: {first} – {last} ({tz})", "zh": "剖面架次 {s}：{first} – {last}（{tz}）"},
    "sheet.when_none": {"en": "no measurement of this site on record", "zh": "无该厂址的监测记录"},
    "sheet.probability": {"en": "emission probability {p}", "zh": "排放概率 {p}"},
    "sheet.rests_on": {"en": "rests on: {what}", "zh": "依据：{what}"},
    "sheet.rest_events": {"en": "{n} plume events ({c} confirmed)", "zh": "{n} 个烟羽事件（{c} 个已确认）"},
    "sheet.rest_flux": {"en": "a curtain flux", "zh": "垂直剖面通量"},
    "sheet.rest_signal": {"en": "the sparse attribution over all samples", "zh": "全部样本稀疏归因"},
    "sheet.rest_hotspots": {"en": "{n} hotspots", "zh": "{n} 个热点"},
    "sheet.rest_registry": {"en": "registry risk only (no measurement)", "zh": "仅登记风险（无监测证据）"},
    "sheet.last_inspected": {"en": "last inspected {d} ({days} days ago)", "zh": "上次检查 {d}（{days} 天前）"},
    "sheet.never_inspected": {"en": "no inspection on record", "zh": "无检查记录"},
    "sheet.violations": {"en": "violations in the last 3 years: {n}", "zh": "近三年违法次数：{n}"},
    "sheet.sketch": {"en": "Site (star), attributed plume events (triangles), the wind and the roads, {km} km across.",
                     "zh": "厂址（星形）、归因烟羽事件（三角形）、风向与道路，范围 {km} km。"},
    # --- the map ---------------------------------------------------------------------------------
    "layer.roads": {"en": "Roads (offline)", "zh": "道路（离线）"},
    "layer.zones": {"en": "No-fly & restricted zones", "zh": "禁飞区与限飞区"},
    "layer.raster": {"en": "Hotspot raster", "zh": "热点栅格"},
    "layer.hotspots": {"en": "Gi* hotspots", "zh": "Gi* 热点"},
    "layer.tracks": {"en": "Sample tracks", "zh": "采样轨迹"},
    "layer.events": {"en": "Plume events", "zh": "烟羽事件"},
    "layer.van": {"en": "Van routes", "zh": "走航路线"},
    "layer.drone": {"en": "Drone sorties", "zh": "无人机架次"},
    "layer.sites": {"en": "Launch sites & depot", "zh": "起降点与车场"},
    "layer.enterprises": {"en": "Enterprises", "zh": "企业"},
    "layer.targets": {"en": "Inspection targets", "zh": "检查对象"},
    "layer.wind": {"en": "Wind", "zh": "风"},
    "basemap.osm": {"en": "OpenStreetMap (WGS-84)", "zh": "OpenStreetMap 底图（WGS-84）"},
    "basemap.amap": {"en": "AMap 高德 (GCJ-02)", "zh": "高德地图（GCJ-02）"},
    "basemap.amap_attr": {"en": "overlays shifted to GCJ-02", "zh": "叠加图层已转换为 GCJ-02"},
    "datum.gcj02": {"en": "GCJ-02 (AMap)", "zh": "GCJ-02（高德）"},
    "map.datum": {"en": "coordinates drawn in {datum}", "zh": "坐标系：{datum}"},
    "map.synthetic": {"en": "synthetic example", "zh": "合成示例"},
    "legend.title": {"en": "Legend", "zh": "图例"},
    "legend.toggle": {"en": "Legend", "zh": "图例"},
    "legend.toggle_title": {"en": "show or hide the legend", "zh": "显示或隐藏图例"},
    "legend.roads": {"en": "roads of the area ({file}), offline", "zh": "本区域道路（{file}），离线"},
    "legend.nofly": {"en": "no-fly zone", "zh": "禁飞区"},
    "legend.restricted": {"en": "restricted (ceiling)", "zh": "限飞区（限高）"},
    "legend.raster": {"en": "hotspot raster: {label} (0 – {vmax})", "zh": "热点栅格：{label}（0 – {vmax}）"},
    "legend.gi_confidence": {"en": "Gi* confidence", "zh": "Gi* 置信度"},
    "legend.tracks": {"en": "max per display point — {n} samples shown as {k} points",
                      "zh": "每个显示点取最大值 — {n} 个样本显示为 {k} 个点"},
    "legend.event_confirmed": {"en": "confirmed event", "zh": "已确认事件"},
    "legend.event_single": {"en": "single-pass event", "zh": "单趟事件"},
    "legend.van_leg": {"en": "van {kind} leg", "zh": "走航{kind}路段"},
    "legend.drone": {"en": "drone sortie (purple): arrows give the direction, dots the waypoints (tooltip: height)",
                     "zh": "无人机架次（紫色）：箭头为飞行方向，圆点为航点（提示框显示高度）"},
    "legend.enterprises": {"en": "Enterprises by industry", "zh": "企业（按行业）"},
    "legend.positive_list": {"en": "hollow = positive list", "zh": "空心 = 正面清单"},
    "legend.rank": {"en": "number = inspection target rank", "zh": "数字 = 检查对象排名"},
    "leg.monitoring": {"en": "monitoring", "zh": "监测"},
    "leg.background": {"en": "background", "zh": "背景"},
    "leg.transit": {"en": "transit", "zh": "转场"},
    "wp.takeoff": {"en": "takeoff", "zh": "起飞"},
    "wp.transit": {"en": "transit", "zh": "转场"},
    "wp.sample": {"en": "sample", "zh": "采样"},
    "wp.hover": {"en": "hover", "zh": "悬停"},
    "wp.background": {"en": "background", "zh": "背景"},
    "wp.land": {"en": "land", "zh": "降落"},
    "zone.nofly": {"en": "no-fly zone", "zh": "禁飞区"},
    "zone.restricted": {"en": "restricted zone", "zh": "限飞区"},
    "zone.no_flight": {"en": "no flight", "zh": "禁止飞行"},
    "zone.ceiling": {"en": "ceiling {m} m AGL", "zh": "限高 {m} m（离地）"},
    "site.launch": {"en": "launch site", "zh": "起降点"},
    "site.depot": {"en": "van depot", "zh": "车场"},
    "popup.hotspot": {"en": "Gi* hotspot, {c} % confidence", "zh": "Gi* 热点，置信度 {c} %"},
    "popup.event": {"en": "Plume event {id}", "zh": "烟羽事件 {id}"},
    "popup.van_route": {"en": "Van route {id}", "zh": "走航路线 {id}"},
    "popup.leg": {"en": "{kind} leg {id}", "zh": "{kind}路段 {id}"},
    "popup.sortie": {"en": "Drone sortie {id}", "zh": "无人机架次 {id}"},
    "popup.attribution": {"en": "Attribution", "zh": "归因"},
    "popup.reasons": {"en": "Reasons", "zh": "理由"},
    "popup.flux": {"en": "Curtain flux", "zh": "剖面通量"},
    "tooltip.event": {"en": "event {id}: {species} peak {peak}", "zh": "事件 {id}：{species} 峰值 {peak}"},
    "tooltip.leg": {"en": "{route} {kind} leg {id}", "zh": "{route} {kind}路段 {id}"},
    "tooltip.depot_of": {"en": "depot of route {route}", "zh": "路线 {route} 的车场"},
    "tooltip.sortie": {"en": "sortie {id}", "zh": "架次 {id}"},
    "tooltip.launch_of": {"en": "launch {site} of sortie {sortie}", "zh": "架次 {sortie} 的起降点 {site}"},
    "area.none": {"en": "No area (registry) given: enterprises are not shown (pass --area FOLDER)",
                  "zh": "未提供区域（企业登记）：不显示企业（请使用 --area 目录）"},
    "area.skipped": {"en": "; the evidence was built from the samples alone (skipped: {steps})",
                     "zh": "；证据仅由样本生成（跳过：{steps}）"},
    # --- words -----------------------------------------------------------------------------------
    "wind.full": {"en": "wind from {deg}° at {spd} m/s", "zh": "风向 {deg}°（来向），风速 {spd} m/s"},
    "wind.short": {"en": "from {deg}° at {spd} m/s", "zh": "来向 {deg}°，{spd} m/s"},
    "wind.stability": {"en": "stability {s}", "zh": "稳定度 {s}"},
    "wind.none": {"en": "wind not recorded", "zh": "未记录风况"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "yes_trusted": {"en": "yes (trusted)", "zh": "是（守信）"},
    "tz.beijing": {"en": "Beijing time", "zh": "北京时间"},
    "sep": {"en": ", ", "zh": "，"},
}


def _merge_module_messages() -> None:
    """Messages kept beside the code that shows them (the alarms' layer and section, issue 17)."""
    from ._alarms import MESSAGES as alarms

    clash = set(alarms) & set(CATALOGUE)
    assert not clash, f"message keys defined twice: {sorted(clash)}"
    CATALOGUE.update(alarms)


_merge_module_messages()

#: Industry names of the registry (English in the files) shown in Chinese.
INDUSTRIES_ZH = {
    "packaging printing": "包装印刷", "textile dyeing": "纺织印染", "surface coating": "表面涂装",
    "chemicals": "化工", "rubber and plastics": "橡胶和塑料制品", "furniture": "家具制造",
    "metal products": "金属制品", "food processing": "食品加工", "pharmaceuticals": "制药",
    "petrochemicals": "石化", "electronics": "电子", "automotive": "汽车制造", "unknown": "未知",
}


def t(key: str, lang: str = "en", **fields) -> str:
    """The message ``key`` in ``lang``, formatted with ``fields`` (English when zh is missing)."""
    entry = CATALOGUE.get(key)
    if entry is None:  # the command line's and the errors' part of the catalogue
        return _core_i18n.t(key, lang, **fields)
    text = entry.get(lang) or entry["en"]
    return text.format(**fields) if fields else text


class Tr:
    """A translator bound to one language: ``tr("sec.summary")``."""

    def __init__(self, lang: str):
        self.lang = lang if lang in LANGS else "en"

    def __call__(self, key: str, **fields) -> str:
        return t(key, self.lang, **fields)

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self.lang == "zh" else "en"

    def yes_no(self, value: bool) -> str:
        return self("yes") if value else self("no")

    def industry(self, name) -> str:
        s = "" if name is None else str(name)
        return INDUSTRIES_ZH.get(s.strip().lower(), s) if self.lang == "zh" else s

    def tz_label(self, tz: str) -> str:
        return self("tz.beijing") if tz in ("Asia/Shanghai", "Asia/Chongqing", "PRC") else tz

    def wind(self, w: dict | None, *, short: bool = True) -> str:
        if not w:
            return self("wind.none")
        key = "wind.short" if short else "wind.full"
        s = self(key, deg=f"{float(w['from_deg']):.0f}", spd=f"{float(w.get('speed_m_s') or 0):.1f}")
        if w.get("stability"):
            s += self("sep") + self("wind.stability", s=w["stability"])
        return s


#: The one resolver of the language, shared with the command line (:mod:`ecopatrol.core.i18n`).
resolve_lang = _core_i18n.resolve_lang
