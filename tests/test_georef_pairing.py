from ecopatrol.processing.georef import pair_field_files


def _touch(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_text("x")


def test_pairs_by_stem_preferring_flight_logs(tmp_path):
    _touch(tmp_path / "drone", "S01.tlog", "S01_airdata.csv", "S01_voc.csv", "S01_instrument.toml",
           "S02_airdata.csv", "S02_voc.csv", "puff_test.csv", "S03_voc.csv")
    _touch(tmp_path / "van", "R01.gpx", "R01.nmea", "R01_voc.csv", "cfads.dat")
    pairs = pair_field_files(tmp_path, recursive=True)
    got = {(tuple(t.name for t in tracks), s.name) for tracks, s in pairs}
    assert got == {(("S01.tlog",), "S01_voc.csv"), (("S02_airdata.csv",), "S02_voc.csv"),
                   (("R01.gpx",), "R01_voc.csv"), ((), "cfads.dat")}
    # an analyser file without a track (S03) is not paired; the airdata file is never a sensor


def test_not_recursive_by_default(tmp_path):
    _touch(tmp_path / "van", "R01.gpx", "R01_voc.csv")
    assert pair_field_files(tmp_path) == []
    assert len(pair_field_files(tmp_path / "van")) == 1
