"""Reading a registry file as a table: CSV (UTF-8 or GB 18030), XLSX, GeoJSON, GeoPackage layers.

Private plumbing of :mod:`ecopatrol.core.registry`: each reader returns a frame of the file's
cells (strings) and its geometry in EPSG:4326 (``None`` for a table with lon/lat columns);
an unreadable file is one clear :class:`~ecopatrol.core.errors.FormatError`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import FormatError, InputError, InputFileNotFoundError
from .i18n import Msg


def _read_registry_tables(path: Path, sources):
    """The enterprises table and its geometry (``None`` for a table with lon/lat columns), and the
    sources table and its geometry (a GeoPackage's ``sources`` layer, else the ``sources`` file)."""
    import geopandas as gpd

    if path.suffix.lower() == ".gpkg":
        import pyogrio

        if not path.exists():
            raise InputFileNotFoundError.keyed("file.missing", file=path, fix=Msg("fix.check_path"))
        layers = [name for name, _ in pyogrio.list_layers(path)]
        e_gdf = gpd.read_file(path, layer="enterprises" if "enterprises" in layers else layers[0])
        edf, egeom = _gdf_to_table(e_gdf)
        if sources is None and "sources" in layers:
            s_gdf = gpd.read_file(path, layer="sources")
            sdf, sgeom = _gdf_to_table(s_gdf)
        else:
            sdf, sgeom = (None, None)
    else:
        edf, egeom = _read_table(path)
        sdf, sgeom = (None, None)
    if sources is not None:
        sdf, sgeom = _read_table(Path(sources))
    return edf, egeom, sdf, sgeom


def _read_table(path: Path) -> tuple[pd.DataFrame, object | None]:
    """Read any supported table; returns (frame of strings/values, geometry or None)."""
    if not path.exists():
        raise InputFileNotFoundError.keyed("file.missing", file=path, fix=Msg("fix.check_path"))
    suffix = "".join(path.suffixes[-1:]).lower()
    try:
        if suffix in (".csv", ".txt"):
            raw = path.read_bytes()
            if b"\x00" in raw[:4096]:
                raise FormatError.keyed("file.binary", file=path.name)
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    text = raw.decode(enc)
                    break
                except UnicodeDecodeError:
                    continue
            else:  # pragma: no cover - gb18030 decodes almost anything
                raise FormatError.keyed("file.encoding", file=path.name)
            import io

            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            return df, None
        if suffix in (".xlsx", ".xlsm", ".xls"):
            df = pd.read_excel(path, dtype=str).fillna("")
            return df, None
        if suffix in (".geojson", ".json", ".gpkg", ".shp"):
            import geopandas as gpd

            gdf = gpd.read_file(path)
            geom = gdf.geometry
            if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") and gdf.crs.to_epsg() not in (4326, 4490):
                geom = geom.to_crs("EPSG:4326")
            df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
            return df, geom
    except (InputError, InputFileNotFoundError):
        raise
    except Exception as exc:  # library errors become one clear message
        raise FormatError.keyed("file.unreadable", file=path.name, kind=suffix[1:].upper(), detail=exc) from exc
    raise FormatError(
        f"`{path.name}`: unsupported registry format {suffix!r}: use CSV, XLSX, GeoJSON or GeoPackage"
    )


def _gdf_to_table(gdf):
    geom = gdf.geometry
    if gdf.crs is not None and gdf.crs.to_epsg() not in (4326, 4490):
        geom = geom.to_crs("EPSG:4326")
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    df = df.astype(object).where(df.notna(), "")
    return df, geom
