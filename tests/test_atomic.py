"""Outputs appear complete or not at all; a killed writer's temporaries do not pile up."""

import pytest

from coralbuild.atomic import atomic_output, write_text


def test_an_output_appears_only_when_complete(tmp_path):
    final = tmp_path / "out" / "table.csv"
    with atomic_output(final) as temporary:
        temporary.write_text("partial")
        assert not final.exists() and temporary.name.startswith(".table.csv.tmp-")
    assert final.read_text() == "partial" and list(final.parent.iterdir()) == [final]


def test_a_failing_writer_leaves_the_earlier_output_and_nothing_else(tmp_path):
    final = tmp_path / "table.csv"
    final.write_text("earlier run")
    with pytest.raises(RuntimeError):
        with atomic_output(final) as temporary:
            temporary.write_text("half")
            raise RuntimeError("bad input")
    assert final.read_text() == "earlier run" and list(tmp_path.iterdir()) == [final]


def test_a_new_writer_removes_what_a_killed_one_left(tmp_path):
    (tmp_path / ".model.keras.tmp-dead1.keras").write_text("killed mid-write")
    (tmp_path / ".model.keras.tmp-dead2").mkdir()
    (tmp_path / ".model.keras.tmp-dead2" / "part").write_text("killed mid-write")
    (tmp_path / ".other.csv.tmp-alive").write_text("another output's writer")
    write_text(tmp_path / "model.keras", "complete")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.csv.tmp-alive", "model.keras"]


def test_a_directory_output_is_renamed_into_place_whole(tmp_path):
    final = tmp_path / "saved_model"
    with atomic_output(final, directory=True) as temporary:
        (temporary / "saved_model.pb").write_bytes(b"pb")
        assert not final.exists()
    assert [p.name for p in final.iterdir()] == ["saved_model.pb"]
