"""Shared fixtures: the real-data folder (skipped when absent) and an isolated cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def _find_shared_data() -> Path | None:
    env = os.environ.get("ECOPATROL_SHARED_DATA")
    if env and Path(env).is_dir():
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return None


SHARED_DATA = _find_shared_data()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real third-party files (../shared/data); skips when absent."""
    if SHARED_DATA is None:
        pytest.skip("../shared/data (real third-party test files) is not present beside the checkout")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Generate the bundled example into a per-session cache, not the user's."""
    old = os.environ.get("ECOPATROL_CACHE")
    os.environ["ECOPATROL_CACHE"] = str(tmp_path_factory.mktemp("ecopatrol-cache"))
    yield
    if old is None:
        os.environ.pop("ECOPATROL_CACHE", None)
    else:
        os.environ["ECOPATROL_CACHE"] = old


@pytest.fixture(autouse=True)
def _cli_in_english(monkeypatch):
    """The command line speaks English in tests unless a test asks for a language (``--lang``, or
    ``monkeypatch.delenv("ECOPATROL_LANG")`` to get the area's default): most tests match its
    English lines. tests/test_cli_lang.py checks the Chinese ones and the default."""
    monkeypatch.setenv("ECOPATROL_LANG", "en")


@pytest.fixture(scope="session")
def jimo():
    """The bundled synthetic Jimo area, loaded once per session."""
    from ecopatrol.core.area import load_area

    return load_area("jimo")


def pytest_terminal_summary(terminalreporter):
    """How many bad-input cases and fuzzed reader calls ran and were handled (BENCHMARKS.md
    "Bad input"). Reported here, not by a test that must run last: each case asserts on its own."""
    hardening = sys.modules.get("test_hardening")
    fuzz = sys.modules.get("test_fuzz_readers")
    if hardening is not None and getattr(hardening, "HANDLED", None):
        terminalreporter.write_line(f"hardening: {len(hardening.HANDLED)} cases handled")
    if fuzz is not None and getattr(fuzz, "COUNTS", {}).get("calls"):
        c = fuzz.COUNTS
        terminalreporter.write_line(f"fuzz: {c['calls']} reader calls, {c['results']} results, "
                                    f"{c['errors']} named errors")
