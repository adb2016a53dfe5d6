"""What a person sees, in a real headless Chromium with no network: the report's first page, one
inspection sheet and the offline map with its roads, in Chinese and in English.

Drives Debian's /usr/bin/chromium through the python `playwright` package (never
`playwright install`); skipped with the reason when either is missing. Screenshots go to the
test's tmp folder.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from maps_support import make_output_folder

from ecopatrol.maps import build_map, build_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="python package `playwright` not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium not installed (apt-get install -y chromium)", allow_module_level=True)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TITLES = {"zh": ("巡查日报", "现场检查单", "图例"), "en": ("daily report", "Inspection sheet", "Legend")}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-report")
    folder, area = make_output_folder(root, n_samples=1500)
    out = {}
    for lang in ("zh", "en"):
        out[lang] = (build_report(folder, out=root / f"report_{lang}.html", area=area, lang=lang, top=3),
                     build_map(folder, out=root / f"map_{lang}.html", area=area, basemap="none", lang=lang))
    return root, out


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser, path: Path, *, width=1100, height=1400):
    ctx = browser.new_context(offline=True, viewport={"width": width, "height": height})
    page = ctx.new_page()
    errors, fetched = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            fetched.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    return ctx, page, errors, fetched


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def _not_blank(img: np.ndarray) -> None:
    assert img.std() > 20, img.std()
    assert len(np.unique(img.reshape(-1, 3)[::7], axis=0)) > 30


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_first_page_and_a_sheet(pages, browser, lang):
    root, out = pages
    ctx, page, errors, fetched = _open(browser, out[lang][0])
    try:
        png = page.screenshot()
        (root / f"report_{lang}_page1.png").write_bytes(png)
        _not_blank(_pixels(png))
        assert TITLES[lang][0] in page.locator("h1").inner_text()
        sheet = page.locator("#sheet-1")
        spng = sheet.screenshot()
        (root / f"report_{lang}_sheet1.png").write_bytes(spng)
        _not_blank(_pixels(spng))
        assert TITLES[lang][1] in sheet.locator("h2").inner_text()
        assert page.locator("section.sheet").count() == 3
        assert sheet.locator("svg.sketch polygon").count() >= 2          # the site star and the events
        page.emulate_media(media="print")
        assert page.evaluate("() => getComputedStyle(document.querySelector('#sheet-2')).breakBefore") == "page"
        if lang == "zh" and shutil.which("fc-list"):
            import subprocess

            if "Noto Sans CJK SC" in subprocess.run(["fc-list"], capture_output=True, text=True).stdout:
                assert page.evaluate("() => document.fonts.check('12px \"Noto Sans CJK SC\"', '检查')")
    finally:
        ctx.close()
    assert errors == [] and fetched == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_offline_map_draws_the_roads_and_the_legend_toggles(pages, browser, lang):
    root, out = pages
    ctx, page, errors, fetched = _open(browser, out[lang][1], width=1200, height=800)
    try:
        page.wait_for_function("() => window.ecopatrol && window.ecopatrol.map")
        page.wait_for_timeout(200)
        roads = page.evaluate("""() => Array.from(document.querySelectorAll('.leaflet-ep-roads-pane path'))
                                    .map(p => (p.getAttribute('d') || '').length)""")
        assert len(roads) == 3 and min(roads) > 8    # three road classes, drawn ("M0 0" when empty)
        assert page.evaluate("() => getComputedStyle(document.querySelector('.leaflet-ep-roads-pane')).zIndex") \
            == "150"
        png = page.screenshot()
        (root / f"map_{lang}.png").write_bytes(png)
        img = _pixels(png)
        _not_blank(img)
        grey = (np.abs(img - np.array([163.0, 163.0, 163.0])).max(axis=2) < 6).sum()
        assert grey > 500, grey                                         # the major roads' grey on screen
        legend = page.locator(".ep-legend")
        assert TITLES[lang][2] in legend.inner_text()
        body = legend.locator(".ep-body")
        assert body.is_visible()
        legend.locator(".ep-toggle").click()
        assert not body.is_visible() and "ep-collapsed" in legend.get_attribute("class")
        legend.locator(".ep-toggle").click()
        assert body.is_visible()
    finally:
        ctx.close()
    ctx, page, errors2, _ = _open(browser, out[lang][1], width=420, height=760)   # a phone
    try:
        page.wait_for_function("() => window.ecopatrol && window.ecopatrol.map")
        assert not page.locator(".ep-legend .ep-body").is_visible()    # collapsed by default on small screens
        box = page.locator(".ep-legend").bounding_box()
        assert box["width"] * box["height"] < 0.05 * 420 * 760
        (root / f"map_{lang}_phone.png").write_bytes(page.screenshot())
    finally:
        ctx.close()
    assert errors == [] and errors2 == [] and fetched == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_alarm_badges_toggle_from_the_legend_and_their_popup_scrolls(tmp_path, browser, lang):
    """Issue 17: one alarm badge per firm; the legend's checkbox hides and shows the layer; a firm's
    many alarms scroll inside its popup; the report's alarms section is on the page."""
    from maps_support import write_alarms_csv

    folder, area = make_output_folder(tmp_path, n_samples=300)
    write_alarms_csv(folder, n_e1=14)
    page_path = build_map(folder, out=tmp_path / "map.html", area=area, basemap="none", lang=lang)
    ctx, page, errors, fetched = _open(browser, page_path, width=1200, height=800)
    on_map = "() => window.ecopatrol.map.hasLayer(window.ecopatrol.layers['Monitoring alarms'])"
    try:
        page.wait_for_function("() => window.ecopatrol && window.ecopatrol.map")
        assert page.locator(".ep-alarm").count() == 2
        box = page.locator(".ep-legend input.ep-layer-toggle")
        assert box.count() == 1 and box.is_checked() and page.evaluate(on_map)
        box.uncheck()
        assert not page.evaluate(on_map) and page.locator(".ep-alarm").count() == 0
        box.check()
        assert page.evaluate(on_map) and page.locator(".ep-alarm").count() == 2
        page.locator(".ep-alarm", has_text="14").click()
        content = page.locator(".leaflet-popup-content")
        content.wait_for()
        assert content.locator("table.ep-alarms tbody tr").count() == 14
        assert page.evaluate("() => { const c = document.querySelector('.leaflet-popup-content');"
                             " return c.scrollHeight > c.clientHeight + 20; }")
    finally:
        ctx.close()
    assert errors == [] and fetched == []
    rep = build_report(folder, out=tmp_path / "report.html", area=area, lang=lang, top=3)
    ctx, page, errors, fetched = _open(browser, rep)
    try:
        sec = page.locator("#alarms")
        assert sec.is_visible()
        assert page.locator("h3.alarm-firm").count() == 2
    finally:
        ctx.close()
    assert errors == [] and fetched == []
