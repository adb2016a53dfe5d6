"""Languages of what people read: the one resolver, keyed messages and the CLI's catalogue lookup.

ecopatrol speaks Chinese (``zh``) and English (``en``). Field names in files (CSV columns, JSON
keys) stay stable English; messages people read are looked up by key in the catalogue —
:data:`ecopatrol.core._messages.MESSAGES` here (the CLI's lines and the errors), extended by
:mod:`ecopatrol.maps.i18n` for the report and the map — and formatted with named fields.

The language (:func:`resolve_lang`): ``--lang`` when given; else the area's — ``language`` in
``area.toml``, else Chinese when the area lies in China (its ``country``, its rules' country, or
where its registry or its centre lies), else English; with no area at all, English. The
command line adds ``ECOPATROL_LANG`` between the two (:func:`env_lang`) and finds the area of a
command from its arguments without loading it (:func:`area_hint`).

An error that carries a :class:`Msg` (:meth:`ecopatrol.core.errors.EcopatrolError.keyed`) is
rendered in either language; ``str(exc)`` is always the English text, so logs and tests that
match English keep working.
"""

from __future__ import annotations

import logging
import os
import string
import tomllib
from pathlib import Path

log = logging.getLogger(__name__)

LANGS = ("zh", "en")
#: Environment variable read by the command line when ``--lang`` is not given.
ENV_VAR = "ECOPATROL_LANG"
#: Countries of the bundled examples (their area folders are generated on first use, so the
#: command line cannot always read their area.toml before the command runs).
EXAMPLE_COUNTRIES = {"jimo": "CN"}


class Msg:
    """A message by key with its fields; a field may itself be a :class:`Msg` (a fix, a part).

    ``str(msg)`` is the English text; :meth:`render` gives it in ``lang``.
    """

    __slots__ = ("key", "fields")

    def __init__(self, key: str, **fields):
        self.key, self.fields = key, fields

    def render(self, lang: str = "en") -> str:
        return t(self.key, lang, **self.fields)

    def __str__(self) -> str:
        return self.render("en")

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {self.fields!r})"


def catalogue() -> dict[str, dict[str, str]]:
    """The messages of this layer (key → {en, zh})."""
    from ._messages import MESSAGES

    return MESSAGES


def t(key: str, lang: str = "en", **fields) -> str:
    """The message ``key`` in ``lang`` formatted with ``fields`` (each :class:`Msg` rendered in ``lang``)."""
    try:
        entry = catalogue()[key]
    except KeyError:
        raise KeyError(f"message {key!r} is not in the catalogue (ecopatrol.core._messages.MESSAGES)") from None
    text = entry.get(lang) or entry["en"]
    if not fields:
        return text
    return text.format(**{k: v.render(lang) if isinstance(v, Msg) else v for k, v in fields.items()})


def placeholders(text: str) -> set[str]:
    """The named fields of a catalogue text (``{file}``, ``{n}``…)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def normalise_lang(value) -> str | None:
    """``zh`` or ``en`` for the usual spellings (zh-CN, 中文, English…), else None."""
    s = str(value).strip().lower().replace("_", "-")
    if s in ("zh", "zh-cn", "zh-hans", "cn", "chinese", "中文", "简体中文"):
        return "zh"
    if s.startswith("en") or s == "english":
        return "en"
    return None


def check_lang(lang) -> str:
    """``lang`` as ``zh``/``en``; an :class:`~ecopatrol.core.errors.InputError` (in both languages) otherwise."""
    got = normalise_lang(lang)
    if got is None:
        from .errors import InputError

        raise InputError.keyed("opt.lang", value=repr(str(lang)), langs=", ".join(LANGS))
    return got


def env_lang() -> str | None:
    """The language of ``ECOPATROL_LANG`` (checked), or None when it is not set."""
    value = os.environ.get(ENV_VAR, "").strip()
    return check_lang(value) if value else None


def _country(area) -> str | None:
    rules = getattr(area, "rules", None)
    c = getattr(rules, "country", None) or getattr(area, "country", None)
    cfg = getattr(area, "config", None) or {}
    c = c or cfg.get("country")
    if c:
        return str(c).upper()
    ent = getattr(area, "enterprises", None)
    if ent is not None and len(ent):
        from .rules import infer_country

        return infer_country(ent.geometry.x.to_numpy(), ent.geometry.y.to_numpy(), no_evidence=None)
    return None


def resolve_lang(lang: str | None, area=None) -> str:
    """``lang`` checked, else the area's default: ``language`` in area.toml, else ``zh`` in China, else ``en``."""
    if lang is not None and str(lang).strip():
        return check_lang(lang)
    if area is None:
        return "en"
    cfg = getattr(area, "config", None) or {}
    declared = cfg.get("language") or (cfg.get("defaults") or {}).get("language")
    if declared:
        got = normalise_lang(declared)
        if got is not None:
            return got
        log.warning("area.toml language %r is not one of %s: choosing from the country", declared, ", ".join(LANGS))
    return "zh" if _country(area) == "CN" else "en"


class AreaHint:
    """What :func:`resolve_lang` needs of an area, read from its ``area.toml`` alone (cheap)."""

    enterprises = None

    def __init__(self, config: dict, country: str | None):
        self.config, self.country = config, country


def area_hint(value) -> AreaHint | None:
    """The language facts of an area named on the command line — ``jimo``, an area folder, or a
    run folder holding ``area/`` — without loading it; None when ``value`` names none."""
    if value is None:
        return None
    s = str(value)
    path = Path(s)
    if s in EXAMPLE_COUNTRIES and not path.is_dir():
        return AreaHint({}, EXAMPLE_COUNTRIES[s])
    for cand in (path / "area.toml", path / "area" / "area.toml"):
        try:
            if not cand.is_file():
                continue
            config = tomllib.loads(cand.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        country = config.get("country")
        center = config.get("center")
        if not country and isinstance(center, list) and len(center) == 2:
            try:
                from .rules import infer_country

                country = infer_country([float(center[0])], [float(center[1])], no_evidence=None)
            except (TypeError, ValueError):
                country = None
        return AreaHint(config, None if country in (None, "auto") else str(country))
    return None
