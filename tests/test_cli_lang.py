"""The command line in Chinese and English: one catalogue, keyed errors, ``--lang`` on every command.

conftest sets ``ECOPATROL_LANG=en`` for the suite; the tests of the default language remove it.
"""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ecopatrol.cli import main
from ecopatrol.core._messages import MESSAGES
from ecopatrol.core.errors import InputError, InputFileNotFoundError, render
from ecopatrol.core.i18n import Msg, area_hint, placeholders, resolve_lang
from ecopatrol.maps.i18n import CATALOGUE as MAPS_CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
REGISTRY_BAD = "enterprise_id,name,lon,lat\nA1,青岛甲包装有限公司,120.45,abc\nA2,,120.46,36.40\n"


def run(capsys, *args):
    """Exit code, stdout and the last line of stderr (the error; logs come before it)."""
    code = main(list(args))
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    return code, out.out, lines[-1] if lines else ""


# --- the catalogue -------------------------------------------------------------------------------

def test_every_key_has_both_languages_with_the_same_fields():
    for key, entry in MESSAGES.items():
        assert set(entry) == {"en", "zh"}, key
        assert placeholders(entry["en"]) == placeholders(entry["zh"]), key
        # real Chinese: every zh text with words in it has Chinese characters
        if re.search(r"[A-Za-z]{3,}", re.sub(r"`[^`]*`|\{[^}]*\}|--?[\w-]+|'[^']*'|\"[^\"]*\"|\S+\.\w+|[A-Z0-9_]+=",
                                             "", entry["en"])):
            assert CJK.search(entry["zh"]), key
    assert not set(MESSAGES) & set(MAPS_CATALOGUE), "a key in both parts of the catalogue"


def _used_keys() -> set[str]:
    used = set()
    for folder in ("core", "ecopatrol", "processing", "missions", "maps"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                    continue
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if name in ("msg", "keyed", "Msg"):
                    used.add(node.args[0].value)
    return used


def test_every_key_the_code_uses_is_in_the_catalogue():
    used = _used_keys()
    assert len(used) > 60
    assert not {k for k in used if k not in MESSAGES}


def test_keyed_errors_keep_english_as_their_text():
    exc = InputFileNotFoundError.keyed("file.missing", file="a.csv", fix=Msg("fix.check_path"))
    assert str(exc) == "`a.csv` does not exist: check the path"
    assert isinstance(exc, FileNotFoundError)
    assert render(exc, "zh") == ("文件 `a.csv` 不存在：请检查路径", True)
    assert render(InputError("deep problem"), "zh") == ("deep problem", False)


# --- errors on the command line ------------------------------------------------------------------

MISSING = [
    (("registry", "check", "{d}/missing.csv"), "文件 `{d}/missing.csv` 不存在：请检查路径",
     "`{d}/missing.csv` does not exist: check the path"),
    (("area", "check", "{d}/nowhere"), "区域 `{d}/nowhere` 不是目录", "area `{d}/nowhere` is not a folder"),
    (("plan", "drone", "--area", "jimo", "--targets-file", "{d}/targets.csv", "--out", "{d}/p"),
     "文件 `{d}/targets.csv` 不存在：请提供由 `ecopatrol targets` 生成的 targets.csv",
     "`{d}/targets.csv` does not exist: pass a targets.csv written by `ecopatrol targets`"),
    (("hotspots", "{d}/nosamples", "--out", "{d}/ev"), "文件 `{d}/nosamples` 不存在：请先运行 `ecopatrol georef`",
     "`{d}/nosamples` does not exist: run `ecopatrol georef` first"),
    (("report", "{d}/norun", "--out", "{d}/r.html"), "目录 `{d}/norun` 不存在", "`{d}/norun`: no such folder"),
]


@pytest.mark.parametrize("args, zh, en", MISSING, ids=[" ".join(a[:2]) for a, _, _ in MISSING])
def test_a_missing_file_is_one_line_in_the_chosen_language(tmp_path, capsys, args, zh, en):
    args = [a.format(d=tmp_path) for a in args]
    code, out, err = run(capsys, *args, "--lang", "zh")
    assert code == 1 and "Traceback" not in err
    assert err.startswith("错误：" + zh.format(d=tmp_path)), err
    assert not re.search(r"does not exist|not a folder|no such", err)
    code, out, err = run(capsys, *args, "--lang", "en")
    assert code == 1 and err.startswith("error: " + en.format(d=tmp_path)) and not CJK.search(err.split("`")[0])


def test_the_real_command_shows_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "ecopatrol", "registry", "check", str(tmp_path / "无.csv"), "--lang",
                        "zh"], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == f"错误：文件 `{tmp_path / '无.csv'}` 不存在：请检查路径"


def test_bad_rows_are_named_in_chinese(tmp_path, capsys):
    reg = tmp_path / "registry.csv"
    reg.write_text(REGISTRY_BAD, encoding="utf-8")
    code, out, _ = run(capsys, "registry", "check", str(reg), "--lang", "zh")
    assert code == 1
    assert "错误：文件 `registry.csv`，第 2 行，字段 `lat`：'abc' 不是数字：请填写十进制度数" in out
    assert "错误：文件 `registry.csv`，第 3 行，字段 `name`：为空：每家企业都需要名称" in out
    assert "错误 " in out and "个" in out  # the counts line
    code, out, _ = run(capsys, "registry", "check", str(reg), "--lang", "en")
    assert "error: `registry.csv` row 2, field `lat`: 'abc' is not a number: give decimal degrees" in out


def test_json_stays_one_document_with_english_keys(tmp_path, capsys):
    reg = tmp_path / "registry.csv"
    reg.write_text(REGISTRY_BAD, encoding="utf-8")
    docs = {}
    for lang in ("zh", "en"):
        code, out, _ = run(capsys, "registry", "check", str(reg), "--json", "--lang", lang)
        docs[lang] = json.loads(out)
        assert code == 1
    assert docs["zh"] == docs["en"]  # problems as stored: English messages, stable keys
    assert {"enterprises", "ok", "problems"} <= set(docs["zh"])
    assert set(docs["zh"]["problems"][0]) == {"severity", "message", "file", "row", "field"}
    code, out, err = run(capsys, "registry", "check", str(tmp_path / "missing.csv"), "--json", "--lang", "zh")
    doc = json.loads(out)
    assert code == 1 and set(doc) == {"error", "exit_code"} and doc["exit_code"] == 1
    assert "不存在" in doc["error"] and f"错误：{doc['error']}" in err


def test_bad_option_values_in_chinese(capsys, tmp_path):
    cases = [
        (("coords", "convert", "--from", "mars", "1", "2"), "未知坐标系 'mars'"),
        (("plan", "van", "--area", "jimo", "--targets", "A", "--out", str(tmp_path), "--when", "tomorrow"),
         "--when 'tomorrow'：请按“YYYY-MM-DD HH:MM”填写"),
        (("plan", "drone", "--area", "jimo", "--targets", "A", "--out", str(tmp_path), "--top", "0"),
         "--top 0：请给出今天要规划的对象数"),
        (("plan", "drone", "--area", "jimo", "--out", str(tmp_path)), "请在 --targets ID[,ID…] 与 --targets-file"),
    ]
    for args, zh in cases:
        code, _, err = run(capsys, *args, "--lang", "zh")
        assert code == 1 and err.startswith("错误：") and zh in err, (args, err)


def test_an_untranslated_error_says_so_in_both_languages(tmp_path, capsys):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "samples.parquet").write_text("not parquet")
    code, _, err = run(capsys, "hotspots", str(tmp_path / "s"), "--out", str(tmp_path / "ev"), "--lang", "zh")
    assert code == 1 and "Traceback" not in err
    assert err.startswith("错误（详细说明为英文）/ error: ")


def test_bad_lang_is_a_usage_error(capsys):
    code, _, err = run(capsys, "registry", "check", "x.csv", "--lang", "fr")
    assert code == 2 and "--lang 'fr'" in err and "zh, en" in err
    code, _, err = run(capsys, "registry", "check", "x.csv", "--lang")
    assert code == 2 and err == "error: --lang needs a value: one of zh, en"


# --- which language ------------------------------------------------------------------------------

def _area(tmp_path, name, toml):
    d = tmp_path / name
    d.mkdir()
    (d / "area.toml").write_text(toml, encoding="utf-8")
    return d


def test_the_default_comes_from_the_area(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ECOPATROL_LANG", raising=False)
    china = _area(tmp_path, "qd", 'name = "qd"\ncenter = [120.45, 36.39]\n')
    declared = _area(tmp_path, "qd_en", 'name = "qd"\ncenter = [120.45, 36.39]\nlanguage = "en"\n')
    abroad = _area(tmp_path, "de", 'name = "de"\ncenter = [13.4, 52.5]\n')
    assert resolve_lang(None, area_hint(china)) == "zh"
    assert resolve_lang(None, area_hint(declared)) == "en"
    assert resolve_lang(None, area_hint(abroad)) == "en"
    assert resolve_lang(None, area_hint("jimo")) == "zh"
    assert area_hint(tmp_path / "nothing") is None
    # a run folder holding area/ counts as its area
    run_dir = tmp_path / "run"
    (run_dir / "area").mkdir(parents=True)
    (run_dir / "area" / "area.toml").write_text('center = [120.45, 36.39]\n')
    assert resolve_lang(None, area_hint(run_dir)) == "zh"

    missing = str(tmp_path / "t.csv")
    for area, lang in ((china, "zh"), (declared, "en"), (abroad, "en"), ("jimo", "zh")):
        code, _, err = run(capsys, "plan", "drone", "--area", str(area), "--targets-file", missing, "--out",
                           str(tmp_path / "o"))
        assert code == 1 and err.startswith("错误：" if lang == "zh" else "error: "), (area, err)
    # no area at all: English
    code, _, err = run(capsys, "registry", "check", missing)
    assert err.startswith("error: ")
    # ECOPATROL_LANG over the area, --lang over both
    monkeypatch.setenv("ECOPATROL_LANG", "zh")
    code, _, err = run(capsys, "plan", "drone", "--area", str(declared), "--targets-file", missing, "--out", "o")
    assert err.startswith("错误：")
    code, _, err = run(capsys, "--lang", "en", "plan", "drone", "--area", str(china), "--targets-file", missing,
                       "--out", "o")
    assert err.startswith("error: ")


def test_commands_with_their_own_lang_get_the_choice(tmp_path, capsys, monkeypatch):
    """``map``/``report``/``demo`` write what people read: ECOPATROL_LANG reaches their --lang too."""
    from ecopatrol import _i18n
    from ecopatrol.cli import app
    import typer.main

    command = typer.main.get_command(app)
    assert _i18n.declares_lang(command, ["report", "x"]) and _i18n.declares_lang(command, ["-v", "map", "x"])
    assert not _i18n.declares_lang(command, ["plan", "drone"])
    monkeypatch.setenv("ECOPATROL_LANG", "fr")
    code, _, err = run(capsys, "report", str(tmp_path), "--out", str(tmp_path / "r.html"))
    assert code == 2 and "ECOPATROL_LANG='fr'" in err


def test_results_in_chinese(capsys, tmp_path):
    code, out, _ = run(capsys, "area", "check", "jimo", "--lang", "zh")
    assert code == 0 and out.startswith("区域 jimo（合成示例）：企业 860 家") and "错误 0 个，警告 0 个" in out
    code, out, _ = run(capsys, "area", "check", "jimo")
    assert code == 0 and out.startswith("area jimo (synthetic): 860 enterprises")


def test_an_area_with_bad_rows_lists_them_in_chinese(tmp_path, capsys):
    area = _area(tmp_path, "bad", 'name = "bad"\ncenter = [120.45, 36.39]\n')
    (area / "registry.csv").write_text(REGISTRY_BAD, encoding="utf-8")
    code = main(["plan", "drone", "--area", str(area), "--targets", "A1", "--out", str(tmp_path / "o"), "--lang", "zh"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "发现 2 个问题：" in err
    assert "  - 错误：文件 `registry.csv`，第 3 行，字段 `name`：为空：每家企业都需要名称" in err


def test_the_demo_summary_in_both_languages():
    from ecopatrol import _i18n
    from ecopatrol.cli import _describe_demo

    class Result:
        out = Path("/nonexistent-demo")
        stages = [("area", 5.6, "area/ — 860 enterprises"), ("map", 3.0, "map.html")]

    try:
        _i18n.set_lang("zh")
        zh = _describe_demo(Result).splitlines()
        _i18n.set_lang("en")
        en = _describe_demo(Result).splitlines()
    finally:
        _i18n.set_lang("en")
    assert zh[0] == "ecopatrol 演示：输出目录 /nonexistent-demo" and en[0] == "ecopatrol demo: outputs in /nonexistent-demo"
    assert zh[-1] == "  合计         8.6 s" and en[-1] == "  total        8.6 s"  # the same columns


@pytest.mark.parametrize("lang, line", [
    ("zh", "错误：process-archive 需要 Dask，但尚未安装（缺少 dask）：请运行 pip install 'ecopatrol[dask]' 安装"),
    ("en", "error: process-archive runs on Dask, which is not installed (dask is missing): pip install "
           "'ecopatrol[dask]'"),
])
def test_a_missing_extra_in_either_language(tmp_path, capsys, monkeypatch, lang, line):
    monkeypatch.setitem(sys.modules, "dask", None)  # import dask → ImportError, as without the extra
    code, _, err = run(capsys, "process-archive", str(tmp_path), "--out", str(tmp_path / "o"), "--lang", lang)
    assert code == 1 and err == line


# --- the one-line results of monitor, ledger, mapping, archive, inspect, and the planners' reasons --

GPX = ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
       "<trk><trkseg>" + "".join(f'<trkpt lat="36.40{k}" lon="120.45{k}"><time>2026-05-01T01:00:0{k}Z</time></trkpt>'
                                 for k in range(3)) + "</trkseg></trk></gpx>\n")


def test_inspect_in_both_languages(tmp_path, capsys):
    (tmp_path / "t.gpx").write_text(GPX, encoding="utf-8")
    code, zh, _ = run(capsys, "inspect", str(tmp_path / "t.gpx"), "--lang", "zh")
    assert code == 0 and zh.splitlines()[:2] == ["t.gpx：格式 gpx（track）", "  数据行：读取 3 行，保留 3 行，隔离 0 行"]
    assert "  范围（经度, 纬度）：120.450000, 36.400000 → 120.452000, 36.402000" in zh and "  字段：time_utc" in zh
    code, en, _ = run(capsys, "inspect", str(tmp_path / "t.gpx"), "--lang", "en")
    assert en.splitlines()[:2] == ["t.gpx: gpx (track)", "  rows: 3 read, 3 kept, 0 quarantined"]
    assert "  UTC: 2026-05-01T01:00:00Z → 2026-05-01T01:00:02Z  (GPX <time>)" in en and not CJK.search(en)


def test_monitor_ingest_migrate_and_alarm_options_in_both_languages(tmp_path, capsys):
    from datetime import UTC, datetime

    from ecopatrol.processing.hj212 import encode, make_packet

    log = tmp_path / "log.h212"
    log.write_bytes(encode(make_packet(st="31", cn="2051", mn="S1", data_time=datetime(2024, 1, 22, 9, 1, tzinfo=UTC),
                                       values={"a21026": {"Avg": 1.5, "Flag": "N"}})) + b"##0010notaframe\r\n")
    expect = {"zh": ("log.h212：数据包 1 个（新入库 1 个，此前已入库 0 个），监测记录 1 条，拒收 1 个（length_mismatch 1）",
                     "log.h212：已跳过（already ingested", "：数据库结构版本 0003",
                     ["已接收数据包：1 个（入库 1 个，重复 0 个）", "监测记录：1 条", "监测点（MN）：1 个",
                      "拒收数据包：1 个（length_mismatch 1）"]),
              "en": ("log.h212: 1 packets (1 new, 0 already stored), 1 records, 1 rejected (length_mismatch 1)",
                     "log.h212: skipped, already ingested", ": schema version 0003",
                     ["packets accepted: 1 (1 stored, 0 duplicates)", "records: 1", "stations: 1",
                      "rejected packets: 1 (length_mismatch 1)"])}
    for lang, (first, again, schema, stats) in expect.items():
        db = f"sqlite:///{tmp_path / lang}.db"
        code, out, _ = run(capsys, "monitor", "ingest", str(log), "--db", db, "--lang", lang)
        assert code == 0 and out.strip() == first
        code, out, _ = run(capsys, "monitor", "ingest", str(log), "--db", db, "--lang", lang)
        assert code == 0 and out.startswith(again)
        code, out, _ = run(capsys, "monitor", "migrate", "--db", db, "--lang", lang)
        assert code == 0 and out.strip() == db + schema
        code, out, _ = run(capsys, "monitor", "stats", "--db", db, "--lang", lang)
        assert code == 0 and out.splitlines()[1:5] == stats
    code, _, err = run(capsys, "monitor", "alarms", "--from", "soon", "--lang", "zh")
    assert code == 1 and err == "错误：--from 'soon'：请按 ISO 8601 格式填写时间，例如 2026-05-01T08:00Z"
    code, _, err = run(capsys, "monitor", "alarms", "--from", "2026-05-02", "--to", "2026-05-01", "--lang", "zh")
    assert code == 1 and err == "错误：--to 2026-05-01 不晚于 --from 2026-05-02：结束时间应在开始时间之后"
    code, _, err = run(capsys, "monitor", "alarms", "--from", "2026-05-02", "--to", "2026-05-01", "--lang", "en")
    assert err == "error: --to 2026-05-01 is not after --from 2026-05-02"


def test_ledger_lines_in_both_languages(tmp_path, capsys):
    bad = tmp_path / "i.csv"
    bad.write_text("enterprise_id,date,result\nNOPE,2026-05-01,clean\n", encoding="utf-8")
    expect = {"zh": ("台账中已有 jimo 的企业 860 家", "已保存现场检查结果 0 条，台账中已有 0 条，拒收 1 条", "  拒收：`i.csv` row 2",
                     "调整建议 0 条；正面清单未作改动（仅为建议）", "已写入 "),
              "en": ("860 firms of jimo in the ledger", "0 on-site outcome(s) stored, 0 already in the ledger, 1 refused",
                     "  refused: `i.csv` row 2", "0 proposal(s); nothing changed (proposals only)", "wrote ")}
    for lang, (registered, imported, refused, proposals, wrote) in expect.items():
        db = f"sqlite:///{tmp_path / lang}.db"
        code, out, _ = run(capsys, "ledger", "register", "jimo", "--db", db, "--lang", lang)
        assert code == 0 and out.strip() == registered
        code, out, _ = run(capsys, "ledger", "import", str(bad), "--db", db, "--lang", lang)
        assert code == 1 and out.splitlines()[0] == imported and out.splitlines()[1].startswith(refused)
        code, out, _ = run(capsys, "ledger", "proposals", "--db", db, "--lang", lang)
        assert code == 0 and out.strip() == proposals
        code, out, _ = run(capsys, "ledger", "export", str(tmp_path / f"{lang}.csv"), "--db", db, "--lang", lang)
        assert code == 0 and out.strip() == f"{wrote}{tmp_path / f'{lang}.csv'}"


def test_mapping_init_in_both_languages(tmp_path, capsys):
    src = tmp_path / "log.csv"
    src.write_text("time,lon,lat,tvoc_ppb\n2026-05-01 09:00:00,120.45,36.40,12\n2026-05-01 09:00:01,120.45,36.40,13\n")
    out = tmp_path / "m.toml"
    code, stdout, _ = run(capsys, "mapping", "init", str(src), "--out", str(out), "--lang", "zh")
    assert code == 0 and stdout.strip() == f"已写入 {out}"
    code, _, err = run(capsys, "mapping", "init", str(src), "--out", str(out), "--lang", "zh")
    assert code == 1 and err == f"错误：`{out}` 已存在（可能是已编辑过的映射文件）：如需覆盖请加 --force，或另给 --out"
    code, _, err = run(capsys, "mapping", "init", str(src), "--out", str(out), "--lang", "en")
    assert err == f"error: `{out}` exists (an edited mapping?): pass --force to overwrite it, or another --out"


def test_the_planners_reasons_in_both_languages(tmp_path, capsys):
    """Every reason the planners wrote is shown in Chinese, and in English exactly as written in plan.json."""
    from ecopatrol import _i18n
    from ecopatrol._planopts import reason_text, warning_text
    from ecopatrol.core.area import load_area

    ids = ",".join(load_area("jimo").enterprises["enterprise_id"].iloc[:3])
    code, out, _ = run(capsys, "plan", "drone", "--area", "jimo", "--targets", ids, "--top", "1", "--out",
                       str(tmp_path / "d"), "--lang", "zh")
    assert code == 0 and "（超出今日 1 个对象的上限：排名第 2）" in out and "飞行前检查通过" in out
    code, out, _ = run(capsys, "plan", "van", "--area", "jimo", "--targets", ids, "--top", "1", "--out",
                       str(tmp_path / "v"), "--lang", "zh")
    assert code == 0 and "留待他日" in out
    drone = json.loads((tmp_path / "d" / "plan.json").read_text(encoding="utf-8"))
    van = json.loads((tmp_path / "v" / "plan.json").read_text(encoding="utf-8"))["routes"]
    reasons = [d["reason"] for d in drone["targets_deferred"] + drone["targets_dropped"]]
    reasons += [d["reason"] for r in van for d in r["targets_deferred"]]
    reasons += [why for r in van for why in r["drop_reasons"].values()]
    reasons += ["beyond today's flight-time budget of 1.5 h (battery swaps included): rank 4",
                "beyond today's 6 h shift: rank 9", "beyond today's 6 h shift (the route is full): rank 10",
                "its pattern reaches 2412 m from the nearest launch site, beyond the 2000 m range from the pilot",
                "its curtain alone needs 91% of a battery, more than the usable 75%: reduce repeats or use a larger "
                "aircraft"]
    assert len(reasons) >= 8
    try:
        for r in reasons:
            _i18n.set_lang("zh")
            zh = reason_text(r)
            assert CJK.search(zh) and "beyond" not in zh and "drivable" not in zh, r
            _i18n.set_lang("en")
            assert reason_text(r) == r
    finally:
        _i18n.set_lang("en")
    assert reason_text("something new") == "something new"  # an unknown reason: shown as written
    warnings = {"target A1 dropped: " + reasons[-1]: "未纳入对象 A1：仅其 curtain 航线就需要一块电池 91% 的电量",
                "enterprise A2 (青岛乙化工有限公司) is in controlled airspace: an approval is needed before flying":
                    "企业 A2（青岛乙化工有限公司）位于 controlled 空域：飞行前须获得审批"}
    try:
        for text, zh in warnings.items():
            _i18n.set_lang("zh")
            assert warning_text(text).startswith(zh)
            _i18n.set_lang("en")
            assert warning_text(text) == text
    finally:
        _i18n.set_lang("en")


def test_the_demo_stage_notes_in_both_languages():
    from ecopatrol import _i18n
    from ecopatrol.cli import _describe_demo

    class Result:
        out = Path("/nonexistent-demo")
        stages = [("georef", 1.0, Msg("demo.georef", n=5, q=2)),
                  ("next", 2.0, Msg("demo.next", van=Msg("demo.next_van", covered=8, budget=8, deferred=40),
                                    drone=Msg("demo.next_drone", n=3, budget=3)))]

    assert str(Result.stages[0][2]) == "samples/ — 5 samples kept, 2 rows quarantined"  # logs stay English
    try:
        _i18n.set_lang("zh")
        zh = _describe_demo(Result).splitlines()
        _i18n.set_lang("en")
        en = _describe_demo(Result).splitlines()
    finally:
        _i18n.set_lang("en")
    assert zh[1] == "  georef       1.0 s  samples/ — 保留样本 5 个，隔离 2 行"
    assert zh[2].endswith("（上限 8 个，40 个留待他日）；plans/next/drone/ — 对架次可达的排名最高的 3 个对象做垂直剖面（上限 3 个）"
                          "（闭环完成）")
    assert en[2].endswith("(budget 8, 40 left for another day); plans/next/drone/ — curtains over the 3 highest-ranked "
                          "targets a sortie can reach (budget 3) (the loop closes)")


def test_archive_synth_in_both_languages(tmp_path, capsys):
    for lang, line in (("zh", "样本 {n} 个，分区 1 个（1 天 × 1 辆走航车，1 Hz）→ {out}"),
                       ("en", "{n} samples in 1 partitions (1 days × 1 vans at 1 Hz) → {out}")):
        out = tmp_path / lang
        code, stdout, _ = run(capsys, "archive", "synth", "--out", str(out), "--days", "1", "--vans", "1", "--hours",
                              "0.02", "--lang", lang)
        n = re.search(r"\d+", stdout).group()
        assert code == 0 and int(n) > 10 and stdout.strip() == line.format(n=n, out=out)
