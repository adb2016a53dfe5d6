"""Shared fixtures: the real-data folder (skipped when absent) and an isolated cache."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="session")
def jimo():
    """The bundled synthetic Jimo area, loaded once per session."""
    from ecopatrol.core.area import load_area

    return load_area("jimo")
