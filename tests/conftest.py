import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SCRIPTS = PROJECT / "scripts"
MNIST = PROJECT / "resources" / "datasets" / "mnist"
sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(PROJECT / "benchmarks"))  # project_copy: the benchmarks' copy of the workflow, shared

from project_copy import copy_project  # noqa: E402,F401 (the tests' fresh copies of the project)


def write_idx(path, array, magic=None, compress=True):
    """An IDX file of unsigned bytes; `magic` overrides the header's magic number."""
    import numpy as np

    array = np.asarray(array, dtype=np.uint8)
    header = (magic if magic is not None else (0x08 << 8) | array.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    content = header + array.tobytes()
    path.write_bytes(gzip.compress(content, mtime=0) if compress else content)
    return content


def environment(path_first=(), **variables):
    """This environment's variables with `path_first` folders, then this Python's, first on PATH
    (the jobs' shell commands call `python`), plus `variables`."""
    path = os.pathsep.join([*map(str, path_first), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, **variables}


def run_snakemake(project, *args, path_first=(), **variables):
    """Snakemake as a user runs it from the project folder; every run, failed or not, must write
    nothing in the project outside `results/` (and Snakemake's own `.snakemake/`), nor outside
    the outputs it was asked for (`--report`): the project's files (its config, code, resources
    and whatever the test put there) are listed before and after and must be unchanged. Only the
    project: the folders around it may hold other runs still going (a test's background run)."""
    project = Path(project)
    assert project.resolve() != PROJECT, "tests run the workflow in a copy (project_copy), never in the checkout"
    allowed = written_by_snakemake(project, args)
    before = files_outside(project, allowed)
    result = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=project, capture_output=True,
                            text=True, env=environment(path_first, **variables))
    after = files_outside(project, allowed)
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    assert not changed, f"snakemake {' '.join(map(str, args))} changed files outside results/: {changed[:5]}"
    return result


def written_by_snakemake(project, args):
    """The folders and files a Snakemake run may write: results/ and .snakemake/ of its working
    directory (-d/--directory, else `project`), and the report it was asked for."""
    args = [str(arg) for arg in args]
    directory = project
    for flag in ("-d", "--directory"):
        if flag in args:
            directory = project / args[args.index(flag) + 1]
    allowed = {directory / "results", directory / ".snakemake"}
    if "--report" in args:
        allowed.add(directory / args[args.index("--report") + 1])
    return {os.path.abspath(path) for path in allowed}


def files_outside(top, allowed):
    """path -> (size, modification time) of every file below `top` but not below `allowed`
    (Python's own __pycache__ folders left out)."""
    listing = {}
    for parent, folders, files in os.walk(top):
        folders[:] = [name for name in folders
                      if name != "__pycache__" and os.path.join(parent, name) not in allowed]
        for name in files:
            path = os.path.join(parent, name)
            if path not in allowed:
                info = os.lstat(path)
                listing[path] = (info.st_size, info.st_mtime_ns)
    return listing


def run_script(name, *args, cwd=PROJECT, path_first=(), **variables):
    return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=environment(path_first, **variables))


def make_stand_in(folder):
    """`folder` with an `edgetpu_compiler` in it: the STAND-IN of tests/stand_in (not Coral's compiler)."""
    folder.mkdir(exist_ok=True)
    executable = folder / "edgetpu_compiler"
    executable.write_text(f'#!/bin/sh\n# STAND-IN for edgetpu_compiler (tests only)\n'
                          f'exec "{sys.executable}" "{PROJECT / "tests/stand_in/edgetpu_compiler.py"}" "$@"\n')
    executable.chmod(0o755)
    return folder


@pytest.fixture
def stand_in_compiler(tmp_path):
    return make_stand_in(tmp_path / "stand-in-bin")


TINY = ["--configfile", "config/config.yaml", "config/tiny.yaml"]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A project copy after a local run of the tiny config: the reference other runs compare with."""
    project = copy_project(tmp_path_factory.mktemp("e2e"))
    result = run_snakemake(project, "--cores", "2", *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    return project


def compared_artifacts(reference, other):
    """Paths whose bytes `verify_manifest.py --against` found equal in two runs (fails on any difference)."""
    comparison = run_script("verify_manifest.py", reference / "results/manifest.json",
                            "--against", other / "results/manifest.json")
    assert comparison.returncode == 0, comparison.stdout
    checked = int(re.search(r"0 difference\(s\) in (\d+) files", comparison.stdout).group(1))
    manifest = json.loads((reference / "results/manifest.json").read_text())
    compared = {a["path"] for a in manifest["artifacts"] if not a["measurement"]}
    assert checked == len(compared)
    return compared


@pytest.fixture
def project_copy(tmp_path):
    return copy_project(tmp_path / "project")


def skip_if_a_real_compiler_is_installed():
    """Cases that need the compiler to be absent cannot run where Coral's compiler is installed."""
    real = shutil.which("edgetpu_compiler")
    if real:
        pytest.skip(f"a real edgetpu_compiler is installed ({real}); its absence cannot be simulated here")


# Base colours of write_image_folder's classes (sorted names = label order): a tiny network
# tells them apart by colour alone.
IMAGE_FOLDER_COLOURS = {"blue": (40, 60, 210), "green": (40, 190, 60), "red": (210, 50, 40)}


def write_image_folder(root, per_class=10, test_per_class=0, size=(16, 16), classes=IMAGE_FOLDER_COLOURS, seed=0):
    """Small RGB images in one folder per class: <root>/<class>/<image>, or with `test_per_class`
    <root>/train/<class>/ + <root>/test/<class>/. Each class is its base colour (`classes`: name ->
    RGB) with seeded noise, so every image is distinct; files alternate JPEG and PNG. Returns the
    paths written, by class."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    root = Path(root)
    layouts = [(root / "train", per_class), (root / "test", test_per_class)] if test_per_class else [(root, per_class)]
    written = {name: [] for name in classes}
    for folder, count in layouts:
        for name, colour in classes.items():
            (folder / name).mkdir(parents=True, exist_ok=True)
            for number in range(count):
                noise = rng.integers(-30, 31, size=(*size, 3))
                pixels = np.clip(np.asarray(colour) + noise, 0, 255).astype(np.uint8)
                path = folder / name / f"{name}_{number:04d}.{'jpg' if number % 2 == 0 else 'png'}"
                Image.fromarray(pixels).save(path, quality=95) if path.suffix == ".jpg" else Image.fromarray(pixels).save(path)
                written[name].append(path)
    return written


def write_prepared(folder, arrays, classes=None):
    """A prepared dataset folder from in-memory arrays x_train, y_train, ... (images (N, H, W)
    or (N, H, W, C)), as the prepare step writes it."""
    import numpy as np

    from coralbuild.data import prepared

    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in ("train", "val", "test"):
        images = np.asarray(arrays[f"x_{split}"], np.uint8)
        images = images[..., np.newaxis] if images.ndim == 3 else images
        stored = prepared.allocate_images(folder, split, len(images), images.shape[1:])
        stored[:] = images
        stored.flush()
        prepared.save_labels(folder, split, arrays[f"y_{split}"])
        counts[split] = len(images)
    labels = np.concatenate([np.asarray(arrays[f"y_{split}"]) for split in ("train", "val", "test")])
    classes = classes or [str(index) for index in range(int(labels.max()) + 1)]
    prepared.write_info(folder, classes, images.shape[1:], counts, None)
    return folder
