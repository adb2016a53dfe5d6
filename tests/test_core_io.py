import hashlib

import pytest

from ecopatrol.core.io import atomic_path, atomic_write, sha256_file


def test_atomic_write_text_and_bytes(tmp_path):
    p = atomic_write(tmp_path / "a" / "x.txt", "héllo")
    assert p.read_text(encoding="utf-8") == "héllo"
    atomic_write(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert [f.name for f in p.parent.iterdir()] == ["x.txt"]


def test_interrupted_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a pl")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["plan.json"]


def test_atomic_path_keeps_the_suffix_for_driver_detection(tmp_path):
    with atomic_path(tmp_path / "events.gpkg") as tmp:
        assert tmp.suffix == ".gpkg" and tmp.parent == tmp_path and not tmp.exists()
        tmp.write_bytes(b"x")
    assert (tmp_path / "events.gpkg").read_bytes() == b"x"


def test_sha256_file(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc" * 1000)
    assert sha256_file(p, chunk_bytes=7) == hashlib.sha256(b"abc" * 1000).hexdigest()
