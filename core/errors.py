"""One exception hierarchy for ecopatrol.

Every class subclasses a builtin as well, so callers that catch ``ValueError`` or
``FileNotFoundError`` keep working. Messages name the file, row and field and say what
to do; the CLI prints ``str(exc)`` without a traceback and exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class EcopatrolError(Exception):
    """Base class of every error ecopatrol raises on purpose."""


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


def where(file: str | Path | None = None, row: int | None = None, field: str | None = None) -> str:
    """Format a location prefix such as ``registry.csv row 17, field `lat`: ``."""
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

    def __str__(self) -> str:
        return f"{self.severity}: {where(self.file, self.row, self.field)}{self.message}"


@dataclass
class Report:
    """Every problem a validation found, errors apart from warnings (osmnx/_validate style)."""

    problems: list[Problem] = field(default_factory=list)

    def error(self, message: str, *, file=None, row=None, field=None) -> None:
        self.problems.append(Problem("error", message, None if file is None else str(file), row, field))

    def warning(self, message: str, *, file=None, row=None, field=None) -> None:
        self.problems.append(Problem("warning", message, None if file is None else str(file), row, field))

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
        raise ValidationError(f"{what}: {len(bad)} problem(s) found:\n{lines}", report=self)
