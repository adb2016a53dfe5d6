"""The command line's language: chosen once per run, used by every line a command prints.

``--lang zh|en`` anywhere on the command line (every command accepts it), else
``ECOPATROL_LANG``, else the language of the area the command names (``--area``, an area
folder, or a run folder holding ``area/``; :func:`ecopatrol.core.i18n.area_hint`), resolved
by the one resolver :func:`ecopatrol.core.i18n.resolve_lang`; with no area, English.
Commands that write something people read in a language (``demo``, ``map``, ``report``)
receive the explicit choice as their own ``--lang``.
"""

from __future__ import annotations

from ecopatrol.core import i18n

_state = {"lang": "en"}


def lang() -> str:
    """The language of this run's messages (``zh`` or ``en``)."""
    return _state["lang"]


def set_lang(value: str) -> None:
    _state["lang"] = i18n.check_lang(value)


def msg(key: str, **fields) -> str:
    """Catalogue message ``key`` in this run's language."""
    return i18n.t(key, _state["lang"], **fields)


def split_lang(args: list[str]) -> tuple[list[str], str | None]:
    """``args`` without ``--lang X`` / ``--lang=X`` (before a ``--``), and the last X given (``""``
    for a ``--lang`` at the end with no value)."""
    out: list[str] = []
    value = None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            out += args[i:]
            break
        if a == "--lang":
            value, i = (args[i + 1], i + 2) if i + 1 < len(args) else ("", i + 1)  # "": given without a value
            continue
        if a.startswith("--lang="):
            value, i = a.split("=", 1)[1], i + 1
            continue
        out.append(a)
        i += 1
    return out, value


def _area_hint(args: list[str]):
    for i, a in enumerate(args):
        if a in ("--area", "-a") and i + 1 < len(args):
            return i18n.area_hint(args[i + 1])
        if a.startswith("--area="):
            return i18n.area_hint(a.split("=", 1)[1])
    for a in args:
        if not a.startswith("-"):
            hint = i18n.area_hint(a)
            if hint is not None:
                return hint
    return None


def choose(args: list[str]) -> tuple[list[str], str | None, BaseException | None]:
    """Pick this run's language from ``args``: ``(args without --lang, the explicit choice, error)``.

    The explicit choice is ``--lang``'s value, else ``ECOPATROL_LANG``'s; a bad value is returned
    as the error (in the language of the area, which is then this run's language).
    """
    rest, value = split_lang(args)
    error = None
    explicit = None
    try:
        if value == "":
            from ecopatrol.core.errors import InputError

            raise InputError.keyed("opt.lang_missing", langs=", ".join(i18n.LANGS))
        if value is not None:
            explicit = i18n.check_lang(value)
        else:
            try:
                explicit = i18n.env_lang()
            except Exception:
                from ecopatrol.core.errors import InputError

                raise InputError.keyed("opt.env_lang", value=repr(i18n.os.environ.get(i18n.ENV_VAR)),
                                       langs=", ".join(i18n.LANGS)) from None
    except Exception as exc:  # an InputError with its key
        error = exc
    _state["lang"] = explicit or i18n.resolve_lang(None, _area_hint(rest))
    return rest, explicit, error


def declares_lang(command, args: list[str]) -> bool:
    """Whether the (click) command that ``args`` reach has its own ``--lang`` option."""
    cmd = command
    for a in args:
        sub = getattr(cmd, "commands", None)
        if sub is None:
            break
        if a.startswith("-"):
            continue
        if a not in sub:
            return False
        cmd = sub[a]
    return any("--lang" in getattr(p, "opts", ()) for p in getattr(cmd, "params", ()))
