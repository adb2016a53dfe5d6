"""Self-contained map pages: Leaflet's script and styles inlined, no URL fetched at run time.

folium links Leaflet, jQuery, Bootstrap, Font Awesome and awesome-markers from CDNs. The
ecopatrol map uses none but Leaflet (circle markers and ``L.divIcon`` badges instead of
awesome-markers, a hand-written legend instead of branca's d3 colormap), so the offline
page drops every CDN link and inlines Leaflet 1.9.3 from the installed ``xstatic-leaflet``
package — the version folium 0.20 itself references — with the CSS images as ``data:``
URIs. Nothing is downloaded when the page is built or opened; map tiles, when a basemap is
chosen, are the only network requests left (and the data layers render without them).
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from pathlib import Path

from ecopatrol.core.errors import EcopatrolError

#: Leaflet version the offline page inlines (the one folium 0.20 links).
LEAFLET_VERSION = "1.9.3"

# A fetched resource: <script src=…>, <link href=…>, <img src=…>, CSS url(…) and @import.
_RESOURCE_RE = re.compile(
    r"""<script[^>]*\ssrc\s*=\s*["']?(?P<script>[^"'\s>]+)"""
    r"""|<link[^>]*\shref\s*=\s*["']?(?P<link>[^"'\s>]+)"""
    r"""|<img[^>]*\ssrc\s*=\s*["']?(?P<img>[^"'\s>]+)"""
    r"""|url\(\s*["']?(?P<url>[^"')\s]+)"""
    r"""|@import\s+["'](?P<imp>[^"']+)""",
    re.IGNORECASE,
)

_INLINE_SCRIPT_RE = re.compile(r"<script(?![^>]*\ssrc\s*=)([^>]*)>.*?</script>", re.IGNORECASE | re.DOTALL)


class OfflineAssetsError(EcopatrolError, RuntimeError):
    """The script and styles to inline are not installed."""


def _leaflet_dir() -> Path:
    try:
        from xstatic.pkg import leaflet as xs_leaflet
    except ImportError as exc:
        raise OfflineAssetsError(
            "offline maps need Leaflet from the `xstatic-leaflet` package: "
            "run `pip install xstatic-leaflet` (no network is needed afterwards)") from exc
    d = Path(xs_leaflet.BASE_DIR)
    if not (d / "leaflet.js").exists():
        raise OfflineAssetsError(f"`{d}`: leaflet.js missing from the xstatic-leaflet package; reinstall it")
    return d


@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """``(javascript, css)`` of Leaflet with images inlined and source-map comments removed."""
    d = _leaflet_dir()
    js = (d / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    css = (d / "leaflet.css").read_text(encoding="utf-8")

    def inline(m: re.Match) -> str:
        p = d / m.group(1)
        if not p.exists():
            return "none"
        return f"url(data:image/png;base64,{base64.b64encode(p.read_bytes()).decode('ascii')})"

    css = re.sub(r"url\((images/[^)]+\.png)\)", inline, css)
    return js, css


def _safe_script(text: str) -> str:
    """Make ``text`` safe inside a ``<script>`` element."""
    return text.replace("</script", "<\\/script")


def make_offline(m) -> None:
    """Turn a folium Map into a self-contained page: drop CDN links, inline Leaflet.

    Call before rendering. Only Leaflet core is inlined: the map must not use folium
    plugins, ``folium.Icon`` (awesome-markers) or branca colormaps (d3).
    """
    from branca.element import Element

    js, css = leaflet_assets()
    m.default_js = []   # instance attributes: the class-level lists stay untouched
    m.default_css = []
    header = m.get_root().header
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    header.add_child(Element(f"<script>{_safe_script(js)}</script>"), name="leaflet_js_inline")


def external_urls(html: str) -> list[str]:
    """Every resource ``html`` would fetch that is not inline (``data:``) or a fragment.

    Hyperlinks in attributions (``<a href>``) and tile URL templates inside scripts are not
    resources a page loads on open, so they are not reported.
    """
    # inline script bodies load nothing by markup (dynamic loads are caught by the browser test)
    markup = _INLINE_SCRIPT_RE.sub("<script></script>", html)
    out = []
    for m in _RESOURCE_RE.finditer(markup):
        url = next(v for v in m.groupdict().values() if v is not None)
        if url.startswith(("data:", "#", "about:")):
            continue
        out.append(url)
    return out
