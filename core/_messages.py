"""The command line's part of the message catalogue: its one-line results and its errors, en and zh.

Key → ``{"en": …, "zh": …}`` with the same named fields in both (checked by tests/test_cli_lang.py).
The report's and the map's messages are the other part (:data:`ecopatrol.maps.i18n.CATALOGUE`);
no key is in both. Keys: ``err.*``/``file.*``/``area.*``/``col.*``/``opt.*``/``dep.*`` errors,
``fix.*`` the "what to do" ending of an error, ``where.*`` the location of a problem, ``cli.*``
the lines a command prints, ``stats.*`` those of ``monitor stats``, ``plan.*`` the planners'
reasons and warnings as the CLI shows them (:func:`ecopatrol._planopts.reason_text`), ``demo.*``
the notes of the demo's stages.
"""

MESSAGES: dict[str, dict[str, str]] = {
    # --- how an error is shown -------------------------------------------------------------------
    "err.prefix": {"en": "error: ", "zh": "错误："},
    # an error with no translation yet: its text stays English, the prefix says so in both
    "err.prefix_untranslated": {"en": "error: ", "zh": "错误（详细说明为英文）/ error: "},
    "err.internal": {"en": "internal error: {kind}: {detail}", "zh": "内部错误：{kind}：{detail}"},
    "err.interrupted": {"en": "interrupted", "zh": "已中断"},
    "err.aborted": {"en": "aborted", "zh": "已取消"},
    "severity.error": {"en": "error: ", "zh": "错误："},
    "severity.warning": {"en": "warning: ", "zh": "警告："},
    "validation.header": {"en": "{what}: {n} problem(s) found:", "zh": "{what}：发现 {n} 个问题："},
    "where.file": {"en": "`{file}`", "zh": "文件 `{file}`"},
    "where.row": {"en": "row {row}", "zh": "第 {row} 行"},
    "where.field": {"en": "field `{field}`", "zh": "字段 `{field}`"},
    "where.join": {"en": ", ", "zh": "，"},
    "where.end": {"en": ": ", "zh": "："},
    # --- files -----------------------------------------------------------------------------------
    "file.missing": {"en": "`{file}` does not exist: {fix}", "zh": "文件 `{file}` 不存在：{fix}"},
    "file.no_such": {"en": "`{file}`: no such file or folder: check the path",
                     "zh": "找不到文件或目录 `{file}`：请检查路径"},
    "file.permission": {"en": "`{file}`: permission denied: check the file's permissions",
                        "zh": "没有权限读写 `{file}`：请检查文件权限"},
    "file.is_folder": {"en": "`{file}` is a folder, not a file: give the file inside it",
                       "zh": "`{file}` 是目录而不是文件：请给出其中的文件"},
    "file.not_csv": {"en": "`{file}` is not a readable CSV: {detail}", "zh": "`{file}` 不是可读取的 CSV 文件：{detail}"},
    "file.binary": {"en": "`{file}` is not a text CSV file (binary content): export the registry as CSV (UTF-8)",
                    "zh": "`{file}` 不是文本 CSV 文件（内容为二进制）：请将企业登记表导出为 CSV（UTF-8 编码）"},
    "file.encoding": {"en": "`{file}`: cannot decode as UTF-8 or GB18030",
                      "zh": "`{file}`：无法按 UTF-8 或 GB18030 编码读取：请另存为 UTF-8 编码"},
    "file.unreadable": {"en": "`{file}` could not be read as {kind}: {detail}",
                        "zh": "无法按 {kind} 格式读取 `{file}`：{detail}"},
    "fix.check_path": {"en": "check the path", "zh": "请检查路径"},
    "fix.run_georef": {"en": "run `ecopatrol georef` first", "zh": "请先运行 `ecopatrol georef`"},
    "fix.run_hotspots": {"en": "run `ecopatrol hotspots` first", "zh": "请先运行 `ecopatrol hotspots`"},
    "fix.targets_file": {"en": "pass a targets.csv written by `ecopatrol targets`",
                         "zh": "请提供由 `ecopatrol targets` 生成的 targets.csv"},
    "evidence.missing": {"en": "evidence folder `{folder}` not found: run `ecopatrol hotspots` first",
                         "zh": "找不到证据目录 `{folder}`：请先运行 `ecopatrol hotspots`"},
    "evidence.not_folder": {"en": "`{file}` not found: is `{folder}` an evidence folder?",
                            "zh": "找不到 `{file}`：`{folder}` 是证据目录吗？"},
    "plan.missing": {"en": "`{file}`: plan not found; write it with `ecopatrol plan {kind}`",
                     "zh": "`{file}`：找不到计划文件；请先用 `ecopatrol plan {kind}` 生成"},
    "run.missing": {"en": "`{folder}`: no such folder; pass the demo output folder (holding plans/, samples/, "
                          "evidence/, targets.csv)",
                    "zh": "目录 `{folder}` 不存在：请给出演示（demo）的输出目录（其中有 plans/、samples/、evidence/、"
                          "targets.csv）"},
    "file.folder_log": {"en": "`{file}` is a folder, not a file: pass the log or CSV file itself",
                        "zh": "`{file}` 是目录而不是文件：请直接给出日志文件或 CSV 文件"},
    "roads.missing": {"en": "road network `{path}` does not exist: give an OSM XML or PBF file",
                      "zh": "路网文件 `{path}` 不存在：请给出 OSM XML 或 PBF 格式的路网文件"},
    # --- areas -----------------------------------------------------------------------------------
    "area.not_folder": {"en": "area `{path}` is not a folder: give an area folder (see `ecopatrol area export "
                              "jimo --out DIR`) or `jimo`",
                        "zh": "区域 `{path}` 不是目录：请给出区域目录（可用 `ecopatrol area export jimo --out DIR` "
                              "生成示例）或 `jimo`"},
    "area.no_registry": {"en": "area `{path}` has no registry: add registry.gpkg or registry.csv",
                         "zh": "区域 `{path}` 缺少企业登记表：请添加 registry.gpkg 或 registry.csv"},
    "area.unknown_example": {"en": "unknown example {name}: the bundled examples are {names}",
                             "zh": "没有名为 {name} 的示例区域：内置示例为 {names}"},
    # --- columns and values ----------------------------------------------------------------------
    "col.missing": {"en": "`{file}`: missing column `{column}` (columns: {columns}); expected {expected}",
                    "zh": "`{file}`：缺少字段 `{column}`（现有字段：{columns}）；应为 {expected}"},
    "col.required": {"en": "required column `{column}` is missing (columns found: {columns})",
                     "zh": "缺少必需字段 `{column}`（文件中的字段：{columns}）：请在表头中加上该字段"},
    "col.required_short": {"en": "required column `{column}` is missing",
                           "zh": "缺少必需字段 `{column}`：请在表头中加上该字段"},
    "value.missing_degrees": {"en": "is missing: give decimal degrees", "zh": "缺少数值：请填写十进制度数"},
    "value.not_degrees": {"en": "{value} is not a number: give decimal degrees",
                          "zh": "{value} 不是数字：请填写十进制度数"},
    "value.swapped": {"en": "`lat` {lat} and `lon` {lon} look swapped: longitude goes in `lon`, latitude in `lat`",
                      "zh": "`lat` {lat} 与 `lon` {lon} 似乎填反了：经度应填在 `lon`，纬度应填在 `lat`"},
    "value.name_empty": {"en": "is empty: every enterprise needs a name", "zh": "为空：每家企业都需要名称"},
    "value.not_bool": {"en": "{value} is not yes/no: write true/false, yes/no, 1/0 or 是/否",
                       "zh": "{value} 不是“是/否”：请填写 是/否、true/false、yes/no 或 1/0"},
    "value.not_airspace": {"en": "{value} is not an airspace class: use {values}",
                           "zh": "{value} 不是空域类别：请使用以下之一：{values}"},
    "value.no_airspace": {"en": "no `airspace` column (空域): every enterprise is taken as free airspace; give {values} "
                                "per enterprise",
                          "zh": "没有 `airspace`（空域）字段：所有企业均按非管制空域处理；请为每家企业填写 {values} 之一"},
    "value.industry_empty": {"en": "is empty: risk scoring will treat the industry as unknown",
                             "zh": "为空：风险评分将按“行业未知”处理"},
    "value.not_date": {"en": "{value} is not a date: use YYYY-MM-DD", "zh": "{value} 不是日期：请按 YYYY-MM-DD 填写"},
    "value.not_count": {"en": "{value} must be a whole number ≥ 0", "zh": "{value} 应为不小于 0 的整数"},
    "value.unknown_crs": {"en": "unknown coordinate system {name}: use one of {names}",
                          "zh": "未知坐标系 {name}：请使用以下之一：{names}"},
    "targets.none": {"en": "`{file}` lists no enterprises", "zh": "`{file}` 中没有列出任何企业"},
    # --- options of the command line -------------------------------------------------------------
    "opt.lang": {"en": "--lang {value}: use one of {langs}", "zh": "--lang {value}：请使用以下之一：{langs}"},
    "opt.lang_missing": {"en": "--lang needs a value: one of {langs}", "zh": "--lang 后面需要给出语言：{langs} 之一"},
    "opt.env_lang": {"en": "ECOPATROL_LANG={value}: use one of {langs}",
                     "zh": "ECOPATROL_LANG={value}：请使用以下之一：{langs}"},
    "opt.targets_one": {"en": "give exactly one of --targets ID[,ID…] or --targets-file targets.csv",
                        "zh": "请在 --targets ID[,ID…] 与 --targets-file targets.csv 中二选一"},
    "opt.targets_empty": {"en": "--targets is empty: give enterprise ids separated by commas",
                          "zh": "--targets 为空：请给出以逗号分隔的企业编号"},
    "opt.top": {"en": "--top {top}: give the number of targets to plan today (at least 1)",
                "zh": "--top {top}：请给出今天要规划的对象数（至少 1 个）"},
    "opt.lonlat": {"en": "{option} {text}: write it as LON,LAT in WGS-84 degrees, e.g. 120.46,36.41",
                   "zh": "{option} {text}：请按“经度,纬度”（WGS-84 度）填写，例如 120.46,36.41"},
    "opt.lonlat_range": {"en": "{option} {text}: ({lon}, {lat}) is not a WGS-84 LON,LAT position",
                         "zh": "{option} {text}：（{lon}, {lat}）不是有效的 WGS-84 经纬度位置"},
    "opt.when": {"en": "--when {text}: write the local time of the flight or drive as \"YYYY-MM-DD HH:MM\" ({tz}), "
                       "e.g. \"2026-05-01 09:30\"",
                 "zh": "--when {text}：请按“YYYY-MM-DD HH:MM”填写飞行或走航的当地时间（{tz}），"
                       "例如 \"2026-05-01 09:30\""},
    "opt.curtain_only": {"en": "--repeats and --distance apply to --pattern curtain only",
                         "zh": "--repeats 和 --distance 只适用于 --pattern curtain"},
    "opt.in_needs_out": {"en": "--in needs --out", "zh": "使用 --in 时还需给出 --out"},
    "opt.point_or_csv": {"en": "give LON LAT, or --in FILE --out FILE",
                         "zh": "请给出“经度 纬度”，或 --in 文件 --out 文件"},
    "opt.wind_format": {"en": "wind {text}: write it as FROM_DEG/SPEED_M_S[/STABILITY], e.g. 270/4 or 270/4/D",
                        "zh": "风况 {text}：请按“来向度数/风速 m/s[/稳定度]”填写，例如 270/4 或 270/4/D"},
    "opt.wind": {"en": "wind {text}: direction and speed must be numbers, e.g. 270/4",
                 "zh": "风况 {text}：风向和风速必须是数字，例如 270/4"},
    # --- optional extras -------------------------------------------------------------------------
    "dep.dask": {"en": "{what} runs on Dask, which is not installed ({module} is missing): pip install "
                       "'ecopatrol[dask]'",
                 "zh": "{what} 需要 Dask，但尚未安装（缺少 {module}）：请运行 pip install 'ecopatrol[dask]' 安装"},
    "dep.pyserial": {"en": "cannot open serial device {device}: pyserial is not installed — `pip install "
                           "'pyserial>=3.5'` (a dependency of ecopatrol: reinstalling ecopatrol installs it)",
                     "zh": "无法打开串口设备 {device}：尚未安装 pyserial——请运行 `pip install 'pyserial>=3.5'`"
                           "（它是 ecopatrol 的依赖，重新安装 ecopatrol 即可装上）"},
    "dep.dronekit": {"en": "--dronekit: dronekit is not installed: pip install 'ecopatrol[dronekit]', or leave out "
                           "--dronekit to use the built-in uploader, which also answers MISSION_REQUEST_INT",
                     "zh": "--dronekit：尚未安装 dronekit：请运行 pip install 'ecopatrol[dronekit]'，或去掉 --dronekit "
                           "改用内置上传器（它同样支持 MISSION_REQUEST_INT）"},
    "dep.pykrige": {"en": "ordinary kriging needs pykrige: `pip install ecopatrol[kriging]`",
                    "zh": "普通克里金插值需要 pykrige：请运行 `pip install ecopatrol[kriging]` 安装"},
    "dep.postgres": {"en": "a PostgreSQL database needs psycopg 3, which is not installed: pip install "
                           "'ecopatrol[postgres]'",
                     "zh": "使用 PostgreSQL 数据库需要 psycopg 3，但尚未安装：请运行 pip install 'ecopatrol[postgres]' 安装"},
    # --- lines the commands print ----------------------------------------------------------------
    "cli.converted": {"en": "converted {n} rows {src} → {dst}: {out}", "zh": "已转换 {n} 行（{src} → {dst}）：{out}"},
    "cli.registry": {"en": "{file}: {enterprises} enterprises, {sources} sources, {positive} on the positive list",
                     "zh": "{file}：企业 {enterprises} 家，排放源 {sources} 个，正面清单 {positive} 家"},
    "cli.by_industry": {"en": "  by industry: {items}", "zh": "  按行业：{items}"},
    "cli.by_airspace": {"en": "  by airspace: {items}", "zh": "  按空域：{items}"},
    "cli.counts": {"en": "{errors} error(s), {warnings} warning(s)", "zh": "错误 {errors} 个，警告 {warnings} 个"},
    "cli.area": {"en": "area {name}{synthetic}: {enterprises} enterprises ({positive} positive list), {sources} "
                       "sources, {zones} zones, {sites} launch sites, {depots} depot(s), roads {roads}, DEM {dem}; "
                       "{rules}",
                 "zh": "区域 {name}{synthetic}：企业 {enterprises} 家（正面清单 {positive} 家），排放源 {sources} 个，"
                       "禁飞/限飞区 {zones} 个，起降点 {sites} 个，车库 {depots} 个，路网 {roads}，高程 {dem}；{rules}"},
    "cli.synthetic": {"en": " (synthetic)", "zh": "（合成示例）"},
    "cli.area_written": {"en": "wrote area {area} to {path}", "zh": "已将区域 {area} 写入 {path}"},
    "cli.warning": {"en": "  warning: {text}", "zh": "  警告：{text}"},
    "cli.flat_ground": {"en": "WARNING: heights are above the launch point, not above ground: no DEM (--flat-ground)",
                        "zh": "警告：没有高程数据（--flat-ground），高度按起飞点起算，而不是离地高度"},
    "cli.drone_plan": {"en": "drone plan: {sorties} sortie(s), {km} km, {minutes} min in the air ({hours} h with "
                             "battery swaps), {sorties} batteries, stability {stability} → {out}",
                       "zh": "无人机计划：{sorties} 个架次，{km} km，空中 {minutes} 分钟（含换电池共 {hours} 小时），"
                             "电池 {sorties} 块，大气稳定度 {stability} → {out}"},
    "cli.sortie": {"en": "  {sortie} from {site}: {km} km, {minutes} min, battery {battery}, targets {targets}",
                   "zh": "  {sortie}（起降点 {site}）：{km} km，{minutes} 分钟，耗电 {battery}，对象 {targets}"},
    "cli.deferred": {"en": "  left for another day: {target} ({reason})", "zh": "  留待他日：{target}（{reason}）"},
    "cli.deferred_more": {"en": "  … and {n} more (targets_deferred in plan.json)",
                          "zh": "  ……另有 {n} 个（见 plan.json 中的 targets_deferred）"},
    "cli.drone_files": {"en": "  {n} files written; pre-flight checks passed{flat} (see summary.txt)",
                        "zh": "  已写入 {n} 个文件；飞行前检查通过{flat}（详见 summary.txt）"},
    "cli.flat_assumed": {"en": " with FLAT GROUND assumed", "zh": "（按平地假设）"},
    "cli.budget": {"en": "planned {planned} of {given} target(s)", "zh": "共 {given} 个对象，已规划 {planned} 个"},
    "cli.budget_deferred": {"en": "; {n} left for another day", "zh": "；{n} 个留待他日"},
    "cli.budget_dropped": {"en": "; {n} cannot be planned (reasons in the plan)", "zh": "；{n} 个无法规划（原因见计划文件）"},
    "cli.van_route": {"en": "van route: {km} km, {hours} h, {covered} target(s) covered, stability {stability}, "
                            "{uturns} U-turn(s) → {out}",
                      "zh": "走航路线：{km} km，{hours} 小时，覆盖对象 {covered} 个，大气稳定度 {stability}，"
                            "掉头 {uturns} 次 → {out}"},
    "cli.dropped": {"en": "  dropped {target}: {reason}", "zh": "  未纳入 {target}：{reason}"},
    "cli.uploaded": {"en": "uploaded {n} mission items from {file} to system {system}/{component} in {secs} s{retries}"
                           "{verified}",
                     "zh": "已将 {file} 的 {n} 个航点上传到飞控 {system}/{component}，用时 {secs} 秒{retries}{verified}"},
    "cli.upload_retries": {"en": " ({retries} retries, {attempts} attempt(s))", "zh": "（重试 {retries} 次，共尝试 {attempts} 轮）"},
    "cli.verified": {"en": "; read-back verified", "zh": "；已回读核对"},
    "cli.not_verified": {"en": "; NOT verified", "zh": "；未经回读核对"},
    "cli.map_written": {"en": "map written: {path} ({mb} MB)", "zh": "地图已写入：{path}（{mb} MB）"},
    "cli.report_written": {"en": "report written: {path} ({mb} MB)", "zh": "报告已写入：{path}（{mb} MB）"},
    "cli.simulated": {"en": "wrote {n} files to {out} (emitters: {emitters}; truth in truth.json)",
                      "zh": "已写入 {n} 个文件到 {out}（排放源：{emitters}；真值见 truth.json）"},
    "cli.none": {"en": "none", "zh": "无"},
    "cli.georef_file": {"en": "{file} ({kind}): {kept} kept, {quarantined} quarantined; clock offset {offset} s "
                              "(confidence {offset_conf}), lag {lag} s (confidence {lag_conf}); delay {delay} s {applied}",
                        "zh": "{file}（{kind}）：保留 {kept} 行，隔离 {quarantined} 行；时钟偏差 {offset} 秒（置信度 "
                              "{offset_conf}），进样滞后 {lag} 秒（置信度 {lag_conf}）；总延迟 {delay} 秒 {applied}"},
    "cli.delay_unknown": {"en": "  the data could not tell the delay: {method}", "zh": "  数据无法判定延迟：{method}"},
    "cli.georef": {"en": "{n} samples → {samples}; {q} rows in {quarantine}",
                   "zh": "{n} 个样本 → {samples}；{q} 行隔离记录在 {quarantine}"},
    "cli.hotspots": {"en": "{samples} samples → {events} events ({confirmed} confirmed), {segments} segments, {cells} "
                           "cells, {hotspots} hotspot polygons, {curtains} curtains → {out}",
                     "zh": "{samples} 个样本 → 烟羽事件 {events} 个（已确认 {confirmed} 个），路段 {segments} 个，网格 "
                           "{cells} 个，热点多边形 {hotspots} 个，垂直剖面 {curtains} 个 → {out}"},
    "cli.visits": {"en": "visit {visits} firm(s) ({ids}): expected emitters among them {expected}, P(at least one "
                         "emits) {p} (from emit_probability)",
                   "zh": "走访 {visits} 家（{ids}）：预计其中排放企业 {expected} 家，至少一家排放的概率 {p}"
                         "（依据 emit_probability）"},
    "cli.visits_calibrated": {"en": "visit {visits} firm(s) ({ids}): expected emitters among them {expected}, "
                                    "P(at least one emits) {p} (emit_probability recalibrated on simulated "
                                    "development scenarios; the model's own figures {expected_model} and {p_model})",
                              "zh": "走访 {visits} 家（{ids}）：预计其中排放企业 {expected} 家，至少一家排放的概率 {p}"
                                    "（emit_probability 经模拟开发情景校准；模型原值 {expected_model} 家、{p_model}）"},
    "cli.plan_used": {"en": "drone plan: {path} ({how})", "zh": "无人机计划：{path}（{how}）"},
    "cli.plan_found": {"en": "found beside the samples; --plan to choose another",
                       "zh": "在样本旁找到；可用 --plan 另行指定"},
    "cli.note_species": {"en": "note: no tvoc_ugm3 in the samples: analysing {species} (--species to choose)",
                         "zh": "提示：样本中没有 tvoc_ugm3，改为分析 {species}（可用 --species 指定）"},
    "cli.note_plan_ignored": {"en": "note: drone plan {plan} ignored: {why}; curtains are credited only to firms "
                                    "whose predicted plume crosses them",
                              "zh": "提示：未采用无人机计划 {plan}：{why}；垂直剖面的通量只归于预测烟羽穿过该剖面的企业"},
    "cli.note_no_area": {"en": "note: no --area given: evidence built from the samples alone in {crs} (their UTM "
                               "zone), {n} step(s) needing a registry skipped (evidence.json `skipped`); {fix} to "
                               "attribute and rank targets",
                         "zh": "提示：未给出 --area：证据仅由样本生成（坐标系 {crs}，即样本所在的 UTM 带），"
                               "{n} 个需要企业登记表的步骤已跳过（见 evidence.json 的 `skipped`）；{fix}，"
                               "才能溯源并对检查对象排序"},
    "fix.needs_area": {"en": "pass --area FOLDER (or --area jimo for the bundled example)",
                       "zh": "请给出 --area 区域目录（内置示例用 --area jimo）"},
    "cli.area_recorded": {"en": "area: {path} (recorded in {file})", "zh": "区域：{path}（记录于 {file}）"},
    "cli.note_built_without_area": {"en": "note: `{folder}` was built without an area (no attribution): targets are "
                                          "ranked by curtain fluxes and registry risk only; rebuild it with "
                                          "`ecopatrol hotspots … --area` to use the attribution",
                                    "zh": "提示：`{folder}` 生成时没有区域（未做溯源）：检查对象仅按剖面通量和登记风险排序；"
                                          "请用 `ecopatrol hotspots … --area` 重新生成以使用溯源结果"},
    "area.targets_need": {"en": "targets rank a registry's enterprises and {why}: {fix}",
                          "zh": "排序检查对象需要企业登记表，而{why}：{fix}"},
    "area.attribution_needs": {"en": "attribution needs the registry: {fix}; `ecopatrol hotspots {samples}` builds "
                                      "the evidence from the samples alone",
                               "zh": "溯源需要企业登记表：{fix}；`ecopatrol hotspots {samples}` 可仅由样本生成证据"},
    "area.recorded_gone": {"en": "the area recorded in `{file}` ({path}) is no longer a folder",
                           "zh": "`{file}` 中记录的区域（{path}）已不是目录"},
    "area.recorded_no_folder": {"en": "`{file}` names area `{area}` but not its folder",
                                "zh": "`{file}` 记录了区域 `{area}`，但没有记录其目录"},
    "area.recorded_none": {"en": "`{file}` records no area (the evidence was built from the samples alone)",
                           "zh": "`{file}` 没有记录区域（证据仅由样本生成）"},
    "area.recorded_missing": {"en": "no `{file}` names the area", "zh": "没有 `{file}` 记录区域"},
    "cli.signal": {"en": "{id}  {firm}  probability {p}  {rate} g/s if it is this source",
                   "zh": "{id}  {firm}  概率 {p}  若为此源，排放速率 {rate} g/s"},
    "cli.evidence_row": {"en": "{id}  {firm}  likelihood {p}  rate {rate} ± {sd} g/s",
                         "zh": "{id}  {firm}  似然度 {p}  排放速率 {rate} ± {sd} g/s"},
    "cli.attribution": {"en": "{n} attribution rows, {k} sources with a positive rate → {path}",
                        "zh": "溯源结果 {n} 行，排放速率为正的源 {k} 个 → {path}"},
    "cli.targets": {"en": "{n} targets → {out}", "zh": "{n} 个检查对象 → {out}"},
    "cli.demo_outputs": {"en": "ecopatrol demo: outputs in {out}", "zh": "ecopatrol 演示：输出目录 {out}"},
    "cli.demo_total": {"en": "total", "zh": "合计"},
    "cli.open": {"en": "open {path}", "zh": "打开 {path}"},
    # --- monitor, ledger, mapping, archive, inspect: their one-line results ---------------------------
    "cli.wrote": {"en": "wrote {path}", "zh": "已写入 {path}"},
    "cli.note": {"en": "note: {text}", "zh": "提示：{text}"},
    "opt.iso_time": {"en": "{option} {text}: write an ISO 8601 time, e.g. 2026-05-01T08:00Z",
                     "zh": "{option} {text}：请按 ISO 8601 格式填写时间，例如 2026-05-01T08:00Z"},
    "opt.to_after_from": {"en": "--to {end} is not after --from {start}",
                          "zh": "--to {end} 不晚于 --from {start}：结束时间应在开始时间之后"},
    "opt.not_date": {"en": "{option} {value} is not a date: use YYYY-MM-DD",
                     "zh": "{option} {value} 不是日期：请按 YYYY-MM-DD 填写"},
    "cli.ingest_skipped": {"en": "{file}: skipped, {why}", "zh": "{file}：已跳过（{why}）"},
    "cli.ingest_file": {"en": "{file}: {packets} packets ({new} new, {duplicates} already stored), {records} records, "
                              "{rejected} rejected ({why}){resumed}",
                        "zh": "{file}：数据包 {packets} 个（新入库 {new} 个，此前已入库 {duplicates} 个），监测记录 "
                              "{records} 条，拒收 {rejected} 个（{why}）{resumed}"},
    "cli.ingest_resumed": {"en": ", resumed after line {line}", "zh": "，从第 {line} 行之后续传"},
    "cli.schema_version": {"en": "{db}: schema version {version}", "zh": "{db}：数据库结构版本 {version}"},
    "cli.alarms": {"en": "{n} alarms ({kinds}) from {loggers} data loggers, {enterprises} enterprises → {out}",
                   "zh": "报警 {n} 条（{kinds}），涉及数采仪 {loggers} 台、企业 {enterprises} 家 → {out}"},
    "cli.alarms_unknown_loggers": {"en": "{n} data logger(s) not in the monitors file: their alarms have the "
                                         "enterprise unknown (listed in --json `unknown_mns`)",
                                   "zh": "{n} 台数采仪不在监测设备清单（monitors 文件）中：其报警的所属企业记为未知"
                                         "（列于 --json 的 `unknown_mns`）"},
    "cli.ledger_recorded_before": {"en": "{run}: recorded before ({n} checks, by {by} at {when}): nothing added",
                                   "zh": "{run}：此前已登记（检查 {n} 条，登记人 {by}，时间 {when}）：未新增记录"},
    "cli.ledger_recorded": {"en": "{run}: {covered} off-site checks of covered firms, {not_assessable} targeted but "
                                  "not assessable ({results}){again}",
                            "zh": "{run}：已覆盖企业的非现场检查 {covered} 条，列为检查对象但无法判定 {not_assessable} "
                                  "家（{results}）{again}"},
    "cli.ledger_nothing_added": {"en": "; recorded before: nothing added", "zh": "；此前已登记：未新增记录"},
    "cli.ledger_registered": {"en": "{n} firms of {area} in the ledger", "zh": "台账中已有 {area} 的企业 {n} 家"},
    "cli.ledger_imported": {"en": "{n} on-site outcome(s) stored, {duplicates} already in the ledger, {refused} refused",
                            "zh": "已保存现场检查结果 {n} 条，台账中已有 {duplicates} 条，拒收 {refused} 条"},
    "cli.ledger_refused": {"en": "  refused: {reason}", "zh": "  拒收：{reason}"},
    "cli.ledger_proposals": {"en": "{n} proposal(s); nothing changed (proposals only)",
                             "zh": "调整建议 {n} 条；正面清单未作改动（仅为建议）"},
    "cli.ledger_registry_written": {"en": "wrote {path}: {n} firms updated from the ledger",
                                    "zh": "已写入 {path}：按台账更新了 {n} 家企业"},
    "file.mapping_exists": {"en": "`{file}` exists (an edited mapping?): pass --force to overwrite it, or another --out",
                            "zh": "`{file}` 已存在（可能是已编辑过的映射文件）：如需覆盖请加 --force，或另给 --out"},
    "cli.archive_synth": {"en": "{samples} samples in {partitions} partitions ({days} days × {vans} vans at {hz} Hz) → "
                                "{out}",
                          "zh": "样本 {samples} 个，分区 {partitions} 个（{days} 天 × {vans} 辆走航车，{hz} Hz）→ {out}"},
    "cli.archive_processed": {"en": "{samples} samples in {partitions} partitions ({tasks} tasks) → {cells} cells, "
                                    "{segments} segments, {hotspots} hotspot polygons in {secs} s → {out}",
                              "zh": "样本 {samples} 个，分区 {partitions} 个（任务 {tasks} 个）→ 网格 {cells} 个，路段 "
                                    "{segments} 个，热点多边形 {hotspots} 个，用时 {secs} 秒 → {out}"},
    "cli.inspect_file": {"en": "{file}: {format} ({kind})", "zh": "{file}：格式 {format}（{kind}）"},
    "cli.inspect_rows": {"en": "  rows: {read} read, {kept} kept, {quarantined} quarantined",
                         "zh": "  数据行：读取 {read} 行，保留 {kept} 行，隔离 {quarantined} 行"},
    "cli.inspect_utc": {"en": "  UTC: {start} → {end}  ({source})", "zh": "  时间（UTC）：{start} → {end}（{source}）"},
    "cli.inspect_bounds": {"en": "  bounds (lon, lat): {bounds}", "zh": "  范围（经度, 纬度）：{bounds}"},
    "cli.inspect_fields": {"en": "  fields: {fields}", "zh": "  字段：{fields}"},
    # --- the planners' reasons for leaving a target out (ecopatrol._planopts.reason_text) -------------
    "plan.deferred_top": {"en": "beyond today's budget of {n} target(s): rank {rank}",
                          "zh": "超出今日 {n} 个对象的上限：排名第 {rank}"},
    "plan.deferred_flight": {"en": "beyond today's flight-time budget of {hours} h (battery swaps included): rank {rank}",
                             "zh": "超出今日 {hours} 小时的飞行时间预算（含换电池）：排名第 {rank}"},
    "plan.deferred_shift": {"en": "beyond today's {hours} h shift: rank {rank}",
                            "zh": "超出今日 {hours} 小时的班次：排名第 {rank}"},
    "plan.deferred_shift_full": {"en": "beyond today's {hours} h shift (the route is full): rank {rank}",
                                 "zh": "超出今日 {hours} 小时的班次（路线已排满）：排名第 {rank}"},
    "plan.dropped_no_road": {"en": "no drivable road (connected to the depot) crosses its predicted plume {near}–{far} m "
                                   "downwind with wind from {deg}°",
                             "zh": "没有与车库连通的可行驶道路穿过其下风向 {near}–{far} m 处的预测烟羽（风从 {deg}° "
                                   "吹来）"},
    "plan.preflight_failed": {"en": "the drone plan fails the pre-flight checks and was not written ({n} problem(s)):\n"
                                    "{problems}",
                              "zh": "无人机计划未通过飞行前检查，未写入任何文件（{n} 个问题，详细说明为英文）：\n{problems}"},
    # --- the demo's stage notes (ecopatrol.pipeline; the CLI shows them in the run's language) --------
    "demo.area": {"en": "area/ — {enterprises} enterprises ({positive} positive list), {sources} sources, {zones} zones; "
                        "checks passed",
                  "zh": "area/ — 企业 {enterprises} 家（正面清单 {positive} 家），排放源 {sources} 个，禁飞/限飞区 {zones} "
                        "个；检查通过"},
    "demo.targets0_previous": {"en": "today's targets from the previous ranking: {drone} for the drone, {van} for the van",
                               "zh": "今日检查对象取自上一轮排序：无人机 {drone} 个，走航车 {van} 个"},
    "demo.targets0_first": {"en": "first-day targets from registry risk: {drone} for the drone, {van} for the van",
                            "zh": "首日检查对象按登记风险选取：无人机 {drone} 个，走航车 {van} 个"},
    "demo.drone": {"en": "plans/drone/ — {sorties} sortie(s), {km} km, {minutes} min",
                   "zh": "plans/drone/ — {sorties} 个架次，{km} km，{minutes} 分钟"},
    "demo.van": {"en": "plans/van/ — {km} km, {hours} h, {covered} targets covered, {dropped} dropped",
                 "zh": "plans/van/ — {km} km，{hours} 小时，覆盖对象 {covered} 个，未纳入 {dropped} 个"},
    "demo.simulate": {"en": "field/ — {n} raw files in real formats, {emitters} hidden emitters (truth.json)",
                      "zh": "field/ — 真实格式的原始文件 {n} 个，隐藏的排放源 {emitters} 个（真值见 truth.json）"},
    "demo.georef": {"en": "samples/ — {n} samples kept, {q} rows quarantined",
                    "zh": "samples/ — 保留样本 {n} 个，隔离 {q} 行"},
    "demo.evidence": {"en": "evidence/ — {events} events, {confirmed_events} confirmed, {hotspots} hotspots, {segments} "
                            "road segments, {sources_with_rate} sources with a rate, {curtains} curtains, "
                            "{curtains_credited} credited to a firm ({files} files)",
                      "zh": "evidence/ — 烟羽事件 {events} 个（已确认 {confirmed_events} 个），热点 {hotspots} 个，路段 "
                            "{segments} 个，有排放速率的源 {sources_with_rate} 个，垂直剖面 {curtains} 个（已归于企业 "
                            "{curtains_credited} 个），共 {files} 个文件"},
    "demo.targets": {"en": "targets.csv — {n} ranked; top: {top}", "zh": "targets.csv — 已排序 {n} 个；前三名：{top}"},
    "demo.ledger": {"en": "ledger {db} — {covered} off-site checks of covered firms ({results}){again}",
                    "zh": "台账 {db} — 已覆盖企业的非现场检查 {covered} 条（{results}）{again}"},
    "demo.ledger_again": {"en": " (this run was recorded before: nothing added)", "zh": "（本次运行此前已登记：未新增记录）"},
    "demo.next": {"en": "{van}; {drone} (the loop closes)", "zh": "{van}；{drone}（闭环完成）"},
    "demo.next_van": {"en": "plans/next/van/ — a route over {covered} of the top targets (budget {budget}, {deferred} "
                            "left for another day)",
                      "zh": "plans/next/van/ — 覆盖排名靠前的 {covered} 个对象的路线（上限 {budget} 个，{deferred} 个"
                            "留待他日）"},
    "demo.next_drone": {"en": "plans/next/drone/ — curtains over the {n} highest-ranked targets a sortie can reach "
                              "(budget {budget})",
                        "zh": "plans/next/drone/ — 对架次可达的排名最高的 {n} 个对象做垂直剖面（上限 {budget} 个）"},
    "demo.next_no_drone": {"en": "no drone sortie for tomorrow: {error}", "zh": "明天没有可飞的无人机架次：{error}"},
    "demo.map": {"en": "map.html — {mb} MB, works offline (roads drawn from area/roads.osm)",
                 "zh": "map.html — {mb} MB，可离线使用（道路取自 area/roads.osm）"},
    "demo.report": {"en": "report.html — {mb} MB", "zh": "report.html — {mb} MB"},
    # --- `monitor stats` (ecopatrol.processing.monitor.stats.describe) ------------------------------
    "stats.database": {"en": "{database} (schema {version})", "zh": "{database}（数据库结构版本 {version}）"},
    "stats.packets": {"en": "packets accepted: {accepted} ({stored} stored, {duplicates} duplicates)",
                      "zh": "已接收数据包：{accepted} 个（入库 {stored} 个，重复 {duplicates} 个）"},
    "stats.records": {"en": "records: {n}", "zh": "监测记录：{n} 条"},
    "stats.stations": {"en": "stations: {n}", "zh": "监测点（MN）：{n} 个"},
    "stats.rejected": {"en": "rejected packets: {n} ({reasons})", "zh": "拒收数据包：{n} 个（{reasons}）"},
    "stats.by_cn": {"en": "by CN: {top}", "zh": "按命令编码（CN）：{top}"},
    "stats.received": {"en": "received: {first} … {last}", "zh": "接收时间：{first} … {last}"},
    "stats.files": {"en": "files ingested: {n}{incomplete}", "zh": "已导入文件：{n} 个{incomplete}"},
    "stats.files_incomplete": {"en": " ({n} incomplete)", "zh": "（其中 {n} 个未完成）"},
    # --- more option and input errors ---------------------------------------------------------------
    "area.timezone": {"en": "area.toml [defaults] timezone {tz} is not an IANA time zone (e.g. Asia/Shanghai, "
                            "Europe/Berlin)",
                      "zh": "area.toml 中 [defaults] 的时区 {tz} 不是 IANA 时区名（例如 Asia/Shanghai、Europe/Berlin）"},
    "opt.seconds_or_auto": {"en": "{option} must be 'auto' or a number of seconds, got {value}",
                            "zh": "{option} 应为 'auto' 或秒数，实际为 {value}"},
    "field.no_pairs": {"en": "`{folder}` holds no track + analyser pairs (`<name>.tlog|.gpx` + `<name>_voc.csv`)",
                       "zh": "`{folder}` 中没有成对的轨迹与分析仪文件（`<名称>.tlog|.gpx` + `<名称>_voc.csv`）"},
    "plan.dropped_range": {"en": "its pattern reaches {dist} m from the nearest launch site, beyond the {range} m range "
                                 "from the pilot",
                           "zh": "其航线距最近的起降点 {dist} m，超出距飞手 {range} m 的范围"},
    "plan.dropped_battery": {"en": "its {pattern} alone needs {need} of a battery, more than the usable {usable}: reduce "
                                   "repeats or use a larger aircraft",
                             "zh": "仅其 {pattern} 航线就需要一块电池 {need} 的电量，超过可用的 {usable}：请减少重复次数"
                                   "或换用更大的机型"},
    "plan.warn_dropped": {"en": "target {target} dropped: {reason}", "zh": "未纳入对象 {target}：{reason}"},
    "plan.warn_approval": {"en": "enterprise {id} ({name}) is in {airspace} airspace: an approval is needed before "
                                 "flying",
                           "zh": "企业 {id}（{name}）位于 {airspace} 空域：飞行前须获得审批"},
}
