"""Files that are not what their name says: a FIFO, a folder, a device behind a symlink, a sparse
file larger than its format can hold. Every reader of a file a user brings answers with one line
naming it, at once (a FIFO used to hang the reader forever); every CLI output path that cannot be
a file is one line too. Generated: each kind of file against each reader."""

import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image

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


# Hostile folders of photos, generated: each case plants one to three of these in a small image
# folder, and planning (the scan and the folder's sha256) and the prepare job must either succeed
# or stop with one line naming a path inside the folder. None of the kinds may give a traceback.
def _not_utf8_file(root, classes, generator):
    open(os.fsencode(str(root / generator.choice(classes))) + b"/\xff\xfe.jpg", "wb").close()


def _not_utf8_folder(root, classes, generator):
    os.mkdir(os.fsencode(str(root / generator.choice(classes))) + b"/sub\xe9")


def _file_loop(root, classes, generator):
    (root / generator.choice(classes) / "loop.jpg").symlink_to("loop.jpg")


def _folder_loop(root, classes, generator):
    (root / generator.choice(classes) / "up").symlink_to("..")


def _class_loop(root, classes, generator):
    (root / "selfish").symlink_to("selfish")


def _two_links_to_one_folder(root, classes, generator):
    (root / generator.choice(classes) / "again").symlink_to(root / classes[0])


def _dangling_image(root, classes, generator):
    (root / generator.choice(classes) / "gone.jpg").symlink_to(root / "nowhere.jpg")


def _fifo_image(root, classes, generator):
    os.mkfifo(root / generator.choice(classes) / "stuck.png")


def _unlistable_folder(root, classes, generator):
    """A folder of photos this user cannot list (see `permissions`)."""
    locked = root / generator.choice(classes) / "locked"
    locked.mkdir()
    Image.new("RGB", (8, 8)).save(locked / "a.png")


def _unreadable_image(root, classes, generator):
    """A photo this user cannot read (see `permissions`)."""
    (root / generator.choice(classes) / "secret.jpg").write_bytes(b"")


def _not_an_image(root, classes, generator):
    (root / generator.choice(classes) / "notes.jpg").write_bytes(generator.randbytes(generator.randrange(0, 64)))


def _linked_class(root, classes, generator):
    """Not hostile: a class folder gathered by symlink is followed."""
    elsewhere = root.parent / "elsewhere"
    write_image_folder(elsewhere, per_class=2, classes={"teal": (0, 128, 128)})
    (root / "teal").symlink_to(elsewhere / "teal")


HOSTILE_KINDS = [_not_utf8_file, _not_utf8_folder, _file_loop, _folder_loop, _class_loop, _two_links_to_one_folder,
                 _dangling_image, _fifo_image, _unlistable_folder, _unreadable_image, _not_an_image, _linked_class]


@pytest.fixture
def permissions(monkeypatch):
    """Permissions as a user other than root meets them: a folder named `locked` cannot be
    listed and a file named `secret.jpg` cannot be opened. The tests run as root here, which
    permissions do not stop, so the refusal the kernel would give is raised in its place."""
    import builtins

    def refused(path):
        return PermissionError(13, "Permission denied", os.fsdecode(path))

    real_scandir, real_open = os.scandir, builtins.open

    def scandir(path="."):
        if isinstance(path, (str, bytes, os.PathLike)) and os.path.basename(os.fsdecode(path)) == "locked":
            raise refused(path)
        return real_scandir(path)

    def open_file(path, *arguments, **options):
        if isinstance(path, (str, bytes, os.PathLike)) and os.path.basename(os.fsdecode(path)) == "secret.jpg":
            raise refused(path)
        return real_open(path, *arguments, **options)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(builtins, "open", open_file)


def plan_and_prepare(folder, root):
    """Plan (scan, the folder's sha256) and prepare the image folder at `root` as the workflow does."""
    from coralbuild.atomic import atomic_output
    from coralbuild.data.formats import image_folder

    settings = {"image_size": [8, 8], "color": "rgb", "seed": 0, "test_size": 2, "validation_size": 2}
    planned_folder_sha256(Scan(root), folder / "cache")
    with atomic_output(folder / "data", directory=True) as temporary:
        image_folder.prepare(settings, {"folder": str(root)}, temporary, threads=1)


@pytest.mark.parametrize("plant, message", [
    (_not_utf8_file, r"/\\xff\\xfe.jpg: the name is not UTF-8 text; rename it"),
    (_not_utf8_folder, r"/sub\\xe9: the name is not UTF-8 text; rename it"),
    (_file_loop, r"/loop.jpg: cannot read the file \(Too many levels of symbolic links\)"),
    (_folder_loop, r"/up/\w+: reaches .* a second time \(a symlink loop, or two links to one folder"),
    (_class_loop, r"/selfish: cannot be read \(Too many levels of symbolic links\)"),
    (_two_links_to_one_folder, r": reaches .* a second time \(a symlink loop, or two links to one folder"),
    (_dangling_image, r"/gone.jpg: cannot read the file \(No such file or directory\)"),
    (_fifo_image, r"/stuck.png: not a regular file \(a FIFO, socket or device\)"),
    (_unlistable_folder, r"/locked: cannot be read \(Permission denied\)"),
    (_unreadable_image, r"/secret.jpg: cannot read the file \(Permission denied\)"),
    (_not_an_image, r"/notes.jpg: not a readable image"),
    (_linked_class, None),
], ids=lambda value: getattr(value, "__name__", "")[1:] or None)
def test_each_hostile_kind_alone(tmp_path, permissions, plant, message):
    import random

    root = tmp_path / "photos"
    write_image_folder(root, per_class=4)
    plant(root, sorted(path.name for path in root.iterdir()), random.Random(1))
    if message is None:
        plan_and_prepare(tmp_path, root)
        assert (tmp_path / "data").is_dir()
        return
    with pytest.raises(BadInput, match=message):
        plan_and_prepare(tmp_path, root)


def test_generated_hostile_folders_plan_and_prepare_or_stop_with_one_line(tmp_path, permissions):
    import random

    from coralbuild.inputs import shown

    generator, outcomes = random.Random(0), {"prepared": 0, "refused": 0}
    for case in range(60):
        folder = tmp_path / str(case)
        root = folder / "photos"
        write_image_folder(root, per_class=4)
        classes = sorted(path.name for path in root.iterdir())
        planted = generator.sample(HOSTILE_KINDS, generator.randint(1, 3))
        for plant in planted:
            plant(root, classes, generator)
        kinds = [plant.__name__ for plant in planted]
        try:
            plan_and_prepare(folder, root)
            outcomes["prepared"] += 1
        except BadInput as error:
            message = str(error)
            assert "\n" not in message and message.startswith(shown(root)), (kinds, message)
            assert not (folder / "data").exists() and not list(folder.glob(".data*")), kinds  # nothing half-written
            outcomes["refused"] += 1
        shutil.rmtree(folder)
    assert outcomes["prepared"] and outcomes["refused"], outcomes  # 2 and 58 with this seed


def test_an_image_only_hashed_by_the_prepare_job_that_cannot_be_read_is_one_line(tmp_path, permissions):
    """Past max_train_size an image is not decoded, only hashed for the folder's sha256; one that
    became unreadable after planning is named, not a PermissionError traceback."""
    from coralbuild.data.formats import image_folder

    root = tmp_path / "photos"
    write_image_folder(root, per_class=12)
    (root / "red" / "secret.jpg").write_bytes(b"")
    settings = {"image_size": [8, 8], "color": "rgb", "seed": 0, "test_size": 2, "validation_size": 2,
                "max_train_size": 10}
    (tmp_path / "data").mkdir()
    with pytest.raises(BadInput, match=r"photos/red/secret.jpg: cannot read the file \(Permission denied\)$"):
        image_folder.prepare(settings, {"folder": str(root)}, tmp_path / "data", threads=1)


@pytest.mark.parametrize("plant", [_not_utf8_file, _folder_loop])
def test_a_hostile_photo_folder_is_one_config_line_before_any_job(project_copy, tmp_path, plant):
    """The issue's cases through Snakemake: a name that is not UTF-8 failed in Snakemake's own lock
    (UnicodeEncodeError), a symlink loop while building the DAG."""
    import random

    import yaml

    from conftest import run_snakemake

    root = tmp_path / "photos"
    write_image_folder(root, per_class=4)
    plant(root, sorted(path.name for path in root.iterdir()), random.Random(0))
    dataset = {"format": "image_folder", "path": str(root), "image_size": [16, 16], "color": "rgb", "seed": 0,
               "test_size": 2, "validation_size": 2}
    (project_copy / "photos.yaml").write_text(yaml.safe_dump({"datasets": {"photos": dataset}}))
    result = run_snakemake(project_copy, "-n", "--cores", "1", "--configfile", "config/config.yaml", "photos.yaml")
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("invalid config")]
    assert len(lines) == 1 and lines[0].startswith(f"invalid config at datasets.photos.path: {root}/"), result.stderr
    assert "Traceback" not in result.stderr and not (project_copy / "results").exists()
