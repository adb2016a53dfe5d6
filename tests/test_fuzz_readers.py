"""Fuzz every reader: random bytes and broken copies of valid files (bit flips, truncations,
line shuffles, duplicated and deleted lines, spliced garbage).

Every call must either return a ReadResult whose rows are all accounted for
(``kept + quarantined == read``, ``time_utc`` tz-aware UTC) or raise an
:class:`~ecopatrol.core.errors.EcopatrolError` naming the file. The readers are called
*without* the safety net of ``read_any`` (which turns any other exception into a
FormatError), so a reader bug shows up here as its own exception type.
Budget: ``max_examples`` per reader below, ``deadline=None``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecopatrol.core.errors import EcopatrolError
from ecopatrol.processing.readers import ReadResult, _dispatch, detect_format
from ecopatrol.processing.readers._common import check_file

_spec = importlib.util.spec_from_file_location("bad_input_seeds", Path(__file__).parent / "bad_inputs" / "seeds.py")
seeds = importlib.util.module_from_spec(_spec)
sys.modules["bad_input_seeds"] = seeds
_spec.loader.exec_module(seeds)

MAX_EXAMPLES = 60
FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SEED_BYTES = {name: factory() for name, (_ext, factory) in seeds.SEEDS.items()}
COUNTS = {"calls": 0, "results": 0, "errors": 0}


def _check_outcome(path: Path, call) -> None:
    """Run ``call``; assert it returns an accounted ReadResult or raises an EcopatrolError naming ``path``."""
    COUNTS["calls"] += 1
    try:
        res = call()
    except EcopatrolError as exc:
        COUNTS["errors"] += 1
        assert path.name in str(exc), f"error does not name the file: {exc}"
        return
    COUNTS["results"] += 1
    assert isinstance(res, ReadResult)
    assert len(res.frame) + len(res.quarantine) == res.rows_read, (len(res.frame), len(res.quarantine), res.rows_read)
    if len(res.frame):
        assert str(res.frame["time_utc"].dt.tz) == "UTC"
        assert res.frame["time_utc"].notna().all()
    if len(res.quarantine):
        assert {"file", "row", "reason"} <= set(res.quarantine.columns)
        assert (res.quarantine["reason"].astype(str).str.len() > 0).all()


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """A broken copy of ``data``: one to three mutations of the kinds a field file suffers."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "truncate", "splice", "delete_span", "shuffle_lines",
                                   "dup_lines", "drop_lines", "zero_span"]))
        n = len(b)
        if n == 0:
            break
        i = draw(st.integers(0, n - 1))
        if op == "flip":
            for _ in range(draw(st.integers(1, 16))):
                k = draw(st.integers(0, n - 1))
                b[k] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            b = b[:i]
        elif op == "splice":
            b[i:i] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete_span":
            del b[i:i + draw(st.integers(1, 256))]
        elif op == "zero_span":
            j = min(n, i + draw(st.integers(1, 64)))
            b[i:j] = bytes(j - i)
        else:
            lines = bytes(b).split(b"\n")
            if op == "shuffle_lines":
                lines = draw(st.permutations(lines))
            elif op == "dup_lines":
                k = draw(st.integers(0, len(lines) - 1))
                lines = lines[:k + 1] + [lines[k]] * draw(st.integers(1, 5)) + lines[k + 1:]
            else:
                k = draw(st.integers(0, len(lines) - 1))
                lines = lines[:k] + lines[k + draw(st.integers(1, 4)):]
            b = bytearray(b"\n".join(lines))
    return bytes(b)


def _reader_call(path: Path, fmt: str):
    """The reader of ``fmt`` called directly (no detection, no safety net)."""
    def call():
        check_file(path)
        return _dispatch(path, fmt, mapping=seeds.MAPPING if fmt == "mapped-csv" else None)
    return call


def _unguarded_read_any(path: Path, *, mapping=None):
    """``read_any`` without its safety net: detection then the detected reader."""
    def call():
        p = check_file(path)
        fmt = detect_format(p, mapping=mapping)
        return _dispatch(p, fmt, mapping=mapping)
    return call


@pytest.mark.parametrize("fmt", list(seeds.SEEDS))
def test_seed_files_are_valid(tmp_path, fmt):
    ext, factory = seeds.SEEDS[fmt]
    p = tmp_path / f"seed{ext}"
    p.write_bytes(factory())
    r = _reader_call(p, fmt)()
    assert r.rows_read == seeds.N and len(r.frame) == seeds.N and r.quarantine.empty
    assert r.frame["time_utc"].iloc[0] == pd.Timestamp(seeds.T0_UNIX * 1e9, tz="UTC")


@pytest.mark.parametrize("fmt", list(seeds.SEEDS))
def test_fuzz_reader_on_mutated_files(tmp_path_factory, fmt):
    ext, _ = seeds.SEEDS[fmt]
    d = tmp_path_factory.mktemp(f"fuzz-{fmt}")

    @FUZZ
    @given(data=mutated(SEED_BYTES[fmt]))
    def run(data):
        p = d / f"mutant{ext}"
        p.write_bytes(data)
        _check_outcome(p, _reader_call(p, fmt))

    run()


@pytest.mark.parametrize("fmt", list(seeds.SEEDS))
def test_fuzz_reader_on_random_bytes(tmp_path_factory, fmt):
    ext, _ = seeds.SEEDS[fmt]
    d = tmp_path_factory.mktemp(f"garbage-{fmt}")
    head = SEED_BYTES[fmt][:64]

    @FUZZ
    @given(prefix=st.sampled_from([b"", head]), body=st.binary(max_size=2048))
    def run(prefix, body):
        p = d / f"garbage{ext}"
        p.write_bytes(prefix + body)
        _check_outcome(p, _reader_call(p, fmt))

    run()


@pytest.mark.parametrize("ext", sorted({e for e, _ in seeds.SEEDS.values()} | {".log", ".txt"}))
def test_fuzz_detection_and_dispatch(tmp_path_factory, ext):
    """Whatever a file holds, detection + the detected reader end in a result or a named error."""
    d = tmp_path_factory.mktemp(f"detect{ext.strip('.')}")
    pool = list(SEED_BYTES.values())

    @settings(FUZZ, max_examples=MAX_EXAMPLES // 2)
    @given(data=st.one_of(st.binary(max_size=1024),
                          st.sampled_from(pool).flatmap(lambda b: mutated(b)),
                          st.text(max_size=512).map(lambda s: s.encode("utf-8", errors="replace"))))
    def run(data):
        p = d / f"field{ext}"
        p.write_bytes(data)
        _check_outcome(p, _unguarded_read_any(p))

    run()
