"""Files that are not what their name says: a FIFO, a folder, a device behind a symlink, a sparse
file larger than its format can hold. Every reader of a file a user brings answers with one line
naming it, at once (a FIFO used to hang the reader forever); every CLI output path that cannot be
a file is one line too. Generated: each kind of file against each reader."""

import os
import subprocess
import sys

import pytest

from conftest import PROJECT, SCRIPTS, environment, write_image_folder
from coralbuild.data.formats.image_folder import Scan, planned_folder_sha256
from coralbuild.errors import BadInput
from coralbuild.inputs import MODEL_BYTES

CNN = PROJECT / "tests/data/cnn_int8.tflite"


def fifo(path):
    os.mkfifo(path)
    return path


def folder(path):
    path.mkdir()
    return path


def device(path):
    path.symlink_to("/dev/zero")
    return path


def sparse(path):
    with open(path, "wb") as handle:
        handle.truncate(MODEL_BYTES + 1)  # no blocks written: a hole
    return path


KINDS = {"fifo": (fifo, "not a regular file"), "folder": (folder, "a folder"),
         "device": (device, "not a regular file"), "sparse": (sparse, "more than a .tflite model can be")}
READERS = {
    "predict_edgetpu": lambda path, out: ["predict_edgetpu.py", path],
    "inspect_edgetpu": lambda path, out: ["inspect_edgetpu.py", path],
    "import_int8": lambda path, out: ["import_int8.py", "--source", path, "--task", "none",
                                      "--output", out / "model_int8.tflite", "--labels", out / "labels.txt"],
}


def run(arguments):
    """A script run that must finish: a hang fails the test instead of the suite."""
    return subprocess.run([sys.executable, str(SCRIPTS / arguments[0]), *map(str, arguments[1:])],
                          capture_output=True, text=True, env=environment(), timeout=120)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_model_path_that_is_not_a_model_file_is_one_line(tmp_path, kind, reader):
    make, message = KINDS[kind]
    path = make(tmp_path / "model.tflite")
    out = folder(tmp_path / "out")
    result = run(READERS[reader](path, out))
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and last.startswith(f"error: {path}: ") and message in last, result.stderr[-1500:]
    assert list(out.iterdir()) == []


def test_a_fifo_named_like_an_image_stops_planning_with_one_line(tmp_path):
    root = tmp_path / "photos"
    write_image_folder(root, per_class=2)
    fifo(root / "red" / "stuck.jpg")
    scan = Scan(root)
    with pytest.raises(BadInput, match=r"stuck.jpg: not a regular file \(a FIFO, socket or device\)"):
        planned_folder_sha256(scan, tmp_path / "cache")


@pytest.mark.parametrize("where", ["a folder", "below a file"])
def test_an_output_that_cannot_be_a_file_is_one_line(tmp_path, where):
    (tmp_path / "taken").mkdir()
    (tmp_path / "file").write_text("")
    output = tmp_path / "taken" if where == "a folder" else tmp_path / "file" / "prediction.json"
    result = run(["predict_edgetpu.py", CNN, "--output", output])
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and last.startswith(f"error: {output}: "), result.stderr[-1500:]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "taken"] and not any((tmp_path / "taken").iterdir())


def test_a_model_that_crashes_the_interpreter_is_one_line_at_import(tmp_path):
    crashing = PROJECT / "tests/data/fuzz/cnn_int8_sigsegv.tflite"
    out = folder(tmp_path / "out")
    result = run(["import_int8.py", "--source", crashing, "--output", out / "model_int8.tflite", "--labels", out / "labels.txt"])
    assert result.returncode == 1 and list(out.iterdir()) == []
    assert result.stderr.strip().splitlines()[-1] == (f"error: {crashing}: corrupt TFLite model: the LiteRT interpreter "
                                                      "crashed loading it (signal SIGSEGV)")


@pytest.mark.parametrize("content", ["tiff", "postscript"])
def test_an_image_in_a_format_not_documented_is_refused_not_decoded(tmp_path, content):
    """Pillow decodes only JPEG, PNG, BMP and GIF here: its EPS reader would run Ghostscript."""
    from PIL import Image

    from coralbuild.data.images import read_image_file

    path = tmp_path / "photo.jpg"
    if content == "tiff":
        Image.new("RGB", (8, 8), (200, 0, 0)).save(path, format="TIFF")
    else:
        path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    with pytest.raises(BadInput, match=r"photo.jpg: not a readable image \(not a JPEG, PNG, BMP or GIF\)"):
        read_image_file(path, (8, 8), "rgb")
