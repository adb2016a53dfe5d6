"""One exception hierarchy for ecopatrol.

Every class subclasses a builtin as well, so callers that catch ``ValueError`` or
``FileNotFoundError`` keep working. Messages name the file, row and field and say what
to do; the CLI prints the message without a traceback and exits 1. An error raised with
:meth:`EcopatrolError.keyed` carries its message by key (:class:`ecopatrol.core.i18n.Msg`), so
the CLI shows it in Chinese or English (:func:`render`); ``str(exc)`` stays the English text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import field as _field
from pathlib import Path


class EcopatrolError(Exception):
    """Base class of every error ecopatrol raises on purpose."""

    #: the message by key (:class:`ecopatrol.core.i18n.Msg`) when raised with :meth:`keyed`
    msg = None

    @classmethod
    def keyed(cls, key: str, /, **fields):
        """The error whose message is catalogue entry ``key`` (English as ``str(exc)``)::

            raise InputFileNotFoundError.keyed("file.missing", file=path, fix=Msg("fix.check_path"))
        """
        from .i18n import Msg

        m = Msg(key, **fields)
        exc = cls(m.render("en"))
        exc.msg = m
        return exc


class InputError(EcopatrolError, ValueError):
    """An input file or value is malformed. The message names file, row, field and fix."""


class InputFileNotFoundError(EcopatrolError, FileNotFoundError):
    """An input file or folder does not exist."""


class FormatError(InputError):
    """A file is not in the format it claims (or that was detected)."""


class ValidationError(InputError):
    """Validation found errors; ``report`` holds every problem found."""

    def __init__(self, message: str, report: "Report | None" = None) -> None:
        super().__init__(message)
        self.report = report


class DelayError(InputError):
    """An analyser's delay (clock offset, inlet lag) could not be estimated with confidence
    and was not declared: the message says what to declare."""


class PlanningError(EcopatrolError, RuntimeError):
    """A plan cannot be made within the hard limits; the message says which limit."""


class SafetyError(PlanningError):
    """A plan breaks a hard safety limit and is refused."""


class UploadError(EcopatrolError, ConnectionError):
    """A MAVLink mission upload was rejected, interrupted or could not be verified."""


class MissingDependencyError(EcopatrolError, ImportError):
    """An optional package (an extra such as ``ecopatrol[dask]``) is not installed; the message
    names the extra and the command that installs it."""


def where(file: str | Path | None = None, row: int | None = None, field: str | None = None, *,
          lang: str = "en") -> str:
    """Format a location prefix such as ``registry.csv row 17, field `lat`: `` (``lang`` zh: 文件 … 第 17 行)."""
    if lang != "en":
        from .i18n import t

        parts = [t("where.file", lang, file=Path(file).name)] if file is not None else []
        if row is not None:
            parts.append(t("where.row", lang, row=row))
        if field is not None:
            parts.append(t("where.field", lang, field=field))
        return t("where.join", lang).join(parts) + t("where.end", lang) if parts else ""
    parts = []
    if file is not None:
        parts.append(f"`{Path(file).name}`")
    if row is not None:
        parts.append(f"row {row}")
    loc = " ".join(parts)
    if field is not None:
        loc = f"{loc}, field `{field}`" if loc else f"field `{field}`"
    return f"{loc}: " if loc else ""


@dataclass(frozen=True)
class Problem:
    """One problem found by a validator.

    ``row`` is the 1-based data row as a spreadsheet user counts it (header excluded),
    or ``None`` for file-level problems.
    """

    severity: str  # "error" | "warning"
    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None
    #: the message by key (:class:`ecopatrol.core.i18n.Msg`); not part of the JSON of a problem
    msg: object = _field(default=None, compare=False, repr=False, metadata={"json": False})

    def __str__(self) -> str:
        return f"{self.severity}: {where(self.file, self.row, self.field)}{self.message}"

    def render(self, lang: str = "en") -> str:
        """The problem in ``lang``: location and severity always, the message when it has a key."""
        if lang == "en":
            return str(self)
        from .i18n import t

        text = self.msg.render(lang) if self.msg is not None else self.message
        return f"{t('severity.' + self.severity, lang)}{where(self.file, self.row, self.field, lang=lang)}{text}"


@dataclass
class Report:
    """Every problem a validation found, errors apart from warnings (osmnx/_validate style)."""

    problems: list[Problem] = field(default_factory=list)

    def error(self, message, *, file=None, row=None, field=None) -> None:
        """Add an error; ``message`` is English text or a :class:`~ecopatrol.core.i18n.Msg`."""
        self.problems.append(_problem("error", message, file, row, field))

    def warning(self, message, *, file=None, row=None, field=None) -> None:
        self.problems.append(_problem("warning", message, file, row, field))

    def extend(self, other: "Report") -> None:
        self.problems.extend(other.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def ok(self, *, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)

    def raise_if_errors(self, what: str, *, strict: bool = False) -> None:
        """Raise :class:`ValidationError` listing every problem if any error (or warning when strict)."""
        if self.ok(strict=strict):
            return
        bad = self.problems if strict else self.errors
        lines = "\n".join(f"  - {p}" for p in bad)
        exc = ValidationError(f"{what}: {len(bad)} problem(s) found:\n{lines}", report=self)
        exc.what, exc.strict = what, strict
        raise exc


def _problem(severity: str, message, file, row, field) -> Problem:
    keyed = not isinstance(message, str) and hasattr(message, "render")
    return Problem(severity, str(message), None if file is None else str(file), row, field,
                   msg=message if keyed else None)


def render(exc: BaseException, lang: str = "en") -> tuple[str, bool]:
    """``(text, translated)``: the message of ``exc`` in ``lang``; ``translated`` is False when
    the error has no key (its text stays English)."""
    if lang == "en":
        return str(exc), True
    msg = getattr(exc, "msg", None)
    if msg is not None:
        return msg.render(lang), True
    report = getattr(exc, "report", None)
    if isinstance(exc, ValidationError) and report is not None and hasattr(exc, "what"):
        from .i18n import t

        bad = report.problems if exc.strict else report.errors
        head = t("validation.header", lang, what=exc.what, n=len(bad))
        return head + "\n" + "\n".join(f"  - {p.render(lang)}" for p in bad), all(p.msg for p in bad)
    return str(exc), False
