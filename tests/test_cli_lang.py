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
