"""The offline map in a real headless Chromium with networking disabled.

Drives Debian's /usr/bin/chromium through the python `playwright` package (never
`playwright install`); skipped with the reason when either is missing.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from maps_support import make_output_folder

from ecopatrol.maps import build_map

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="python package `playwright` not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium not installed (apt-get install -y chromium)", allow_module_level=True)

COUNT_JS = """() => {
  const e = window.ecopatrol; const out = {};
  for (const [name, layer] of Object.entries(e.layers)) {
    let n = 0;
    if (layer.eachLayer) { layer.eachLayer(l => { n += l.getLayers ? l.getLayers().length : 1; }); }
    out[name] = {onMap: e.map.hasLayer(layer), n: n};
  }
  const ctl = document.querySelectorAll('.leaflet-control-layers-overlays label').length;
  return {layers: out, controlEntries: ctl, zoom: e.map.getZoom(),
          inView: e.map.getBounds().pad(0.01).contains(L.latLngBounds(e.bounds))};
}"""


def test_offline_map_renders_without_network(tmp_path):
    folder, area = make_output_folder(tmp_path, n_samples=5000)
    page_path = build_map(folder, out=tmp_path / "map.html", area=area, offline=True, basemap="none")
    messages, blocked = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            ctx = browser.new_context(offline=True, viewport={"width": 1200, "height": 800})
            page = ctx.new_page()
            page.on("console", lambda m: messages.append((m.type, m.text)))
            page.on("pageerror", lambda e: messages.append(("pageerror", str(e))))

            def route(r):
                if r.request.url.startswith(("file:", "data:")):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(page_path.as_uri())
            page.wait_for_function("() => window.ecopatrol && window.ecopatrol.map")
            page.wait_for_timeout(300)
            state = page.evaluate(COUNT_JS)
            png = page.screenshot()
        finally:
            browser.close()
    assert [m for m in messages if m[0] in ("error", "pageerror")] == []
    assert blocked == []
    layers = state["layers"]
    assert all(v["onMap"] for v in layers.values())
    assert state["controlEntries"] == len(layers) == 12
    assert layers["Roads"]["n"] == 3          # major, minor and service roads of the area
    assert layers["Enterprises"]["n"] == 5
    assert layers["Inspection targets"]["n"] == 3
    assert layers["Plume events"]["n"] == 3
    assert layers["Gi* hotspots"]["n"] == 2
    assert layers["No-fly & restricted zones"]["n"] == 2
    assert layers["Sample tracks"]["n"] > 0
    assert state["inView"] and state["zoom"] >= 12
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)
    assert img.shape[:2] == (800, 1200)
    assert img.std() > 20                                   # not blank
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50  # many colours drawn
    (tmp_path / "map.png").write_bytes(png)
