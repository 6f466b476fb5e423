"""Your own data and models end to end: image folders in colour (one folder per class; train/,
validation/ and test/ folders), a MobileNet trained here, a .keras model and int8 .tflite files
you bring, side by side in one run."""

import hashlib
import itertools
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import PROJECT, copy_project, environment, run_snakemake, write_image_folder

CONFIG = yaml.safe_load((PROJECT / "config/config.yaml").read_text())
RUN = {
    "datasets": {
        "photos": {"format": "image_folder", "path": "photos", "image_size": [32, 32], "color": "rgb",
                   "test_size": 0.2, "validation_size": 0.1, "seed": 0},
        "split": {"format": "image_folder", "path": "split_photos", "image_size": [32, 32], "color": "rgb", "seed": 0},
    },
    # The MobileNet costs most of the run (its graph takes long to train, export and convert):
    # once, on photos. `mine`, without `datasets`, runs on both datasets, the others on photos only.
    "models": {
        "mnv2": {"architecture": "mobilenet_v2", "alpha": 0.35, "datasets": ["photos"]},
        "mine": {"source": "brought/mine.keras", "input_range": [0, 1]},
        "given": {"source": "brought/given_int8.tflite", "datasets": ["photos"]},
        "misfit": {"source": "brought/misfit_int8.tflite", "datasets": ["photos"]},
    },
    "train": {**CONFIG["train"], "epochs": 1, "batch_size": 32},
    "quantize": {**CONFIG["quantize"], "representative_samples": 40},
    "compile": CONFIG["compile"],
    "predict": CONFIG["predict"],
    "benchmark": {**CONFIG["benchmark"], "warmup": 2, "iterations": 10},
}
PHOTOS_MODELS = ["given", "mine", "misfit", "mnv2"]


def bring_models(folder):
    """A small .keras model for 32x32 RGB images in 3 classes, its int8 conversion, and an int8
    model for other images (the CNN of tests/data: 28x28 grayscale, 10 classes)."""
    import keras

    from coralbuild.models.conversion import convert_int8
    from coralbuild.models.export import export_saved_model

    folder.mkdir()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    model.save(folder / "mine.keras")
    export_saved_model(folder / "mine.keras", folder / "saved_model")
    images = np.random.default_rng(0).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    (folder / "given_int8.tflite").write_bytes(convert_int8(folder / "saved_model", images, (0.0, 1.0)))
    shutil.rmtree(folder / "saved_model")
    shutil.copy(PROJECT / "tests/data/cnn_int8.tflite", folder / "misfit_int8.tflite")


def digests(folder):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def make_project(destination, brought_from=None):
    """A project copy with this file's config, two image folders and the brought models (made
    anew, or copied from `brought_from` so that two projects bring the same bytes)."""
    project = copy_project(destination)
    (project / "config/config.yaml").write_text(yaml.safe_dump(RUN))
    write_image_folder(project / "photos", per_class=40, size=(40, 36))
    write_image_folder(project / "split_photos", per_class=20, test_per_class=6, size=(24, 30), seed=1)
    for image in sorted((project / "split_photos/train").glob("*/*_001[89].*")):  # 2 of each class
        (project / "split_photos/validation" / image.parent.name).mkdir(parents=True, exist_ok=True)
        image.rename(project / "split_photos/validation" / image.parent.name / image.name)
    (project / "photos/.DS_Store").write_bytes(b"\0\1")
    (project / "photos/red/notes.txt").write_text("not an image")
    if brought_from:
        shutil.copytree(brought_from, project / "brought")
    else:
        bring_models(project / "brought")
    return project


# What a second clean run makes: the prepared data and each kind of model up to its int8 file
# (the stages after it are compared byte for byte in test_workflow_e2e::
# test_a_run_killed_while_writing_outputs_completes_with_identical_artifacts). Prepared data folders
# are Snakemake's targets; the files in them are compared.
TARGETS = ["results/photos/data", "results/split/data", "results/photos/mnv2/model_int8.tflite",
           "results/photos/mine/model_int8.tflite", "results/photos/mnv2/labels.txt"]
REPRODUCED = ["results/photos/data/x_train.npy", "results/photos/data/sources.sha256", "results/split/data/x_test.npy",
              "results/photos/mnv2/model.keras", "results/photos/mnv2/model_int8.tflite",
              "results/photos/mine/model_int8.tflite", "results/photos/mnv2/labels.txt"]


@pytest.fixture(scope="module")
def photo_runs(tmp_path_factory):
    """(this file's run, which the tests read; a second clean run of the same files in another
    folder up to TARGETS: (its folder, Snakemake's exit status, its output file)). The second runs
    beside the first: each leaves a core idle much of the time (a training job books both cores,
    and mostly uses one)."""
    project = make_project(tmp_path_factory.mktemp("photos"))
    second = make_project(tmp_path_factory.mktemp("photos-again"), brought_from=project / "brought")
    brought = digests(project / "brought")
    output = second.with_name(f"{second.name}.out")
    with open(output, "w") as out:
        beside = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", *TARGETS], cwd=second,
                                  stdout=out, stderr=subprocess.STDOUT, env=environment())
    try:
        result = run_snakemake(project, "--cores", "2")
    finally:
        beside.wait()
    assert result.returncode == 0, result.stderr[-4000:]
    assert digests(project / "brought") == brought, "a brought model was modified"
    return project, (second, beside.returncode, output)


@pytest.fixture(scope="module")
def photo_run(photo_runs):
    return photo_runs[0]


def dry_run(project):
    """(jobs by rule, Snakemake's printout) of a dry run."""
    result = run_snakemake(project, "-n", "--cores", "2")
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    if "Nothing to be done" in output:
        return {}, output
    table = output.split("Job stats:")[1].split("total")[0]
    return {line.split()[0]: int(line.split()[1]) for line in table.strip().splitlines()[2:]}, output


def planned(project):
    return dry_run(project)[0]


def printed_job(output, rule, dataset):
    """The indented lines Snakemake prints under `rule <rule>:` for the job on `dataset`."""
    lines = output.splitlines()
    for start in (number for number, line in enumerate(lines) if line == f"rule {rule}:"):
        job = list(itertools.takewhile(lambda line: line.startswith("    "), lines[start + 1:]))
        if f"    wildcards: dataset={dataset}" in job:
            return job
    raise AssertionError(f"no {rule} job for {dataset} in:\n{output[-3000:]}")


def test_the_image_folders_are_prepared_with_their_classes(photo_run):
    info = json.loads((photo_run / "results/photos/data/dataset.json").read_text())
    assert info["classes"] == ["blue", "green", "red"] and info["image_shape"] == [32, 32, 3]
    assert info["counts"] == {"test": 24, "train": 86, "val": 10}  # 120 images: 20% test, 10% of the other 96
    assert info["skipped_files"] == 2
    split = json.loads((photo_run / "results/split/data/dataset.json").read_text())
    assert split["counts"] == {"test": 18, "train": 54, "val": 6}  # validation/ and test/ as given
    log = (photo_run / "results/photos/logs/prepare_dataset.log").read_text()
    assert "2 other files skipped" in log
    assert "(train/, validation/ and test/ folders)" in (photo_run / "results/split/logs/prepare_dataset.log").read_text()


def test_classes_with_few_validation_and_test_images_are_warnings_in_the_log_and_dataset_json(photo_run):
    # 10 validation images of 96: 4, 3, 3 by largest remainder (ties to the first class); 8 test images each.
    expected = [f"class {name} has fewer than 10 images in val ({count}) and test (8)"
                for name, count in (("blue", 4), ("green", 3), ("red", 3))]
    assert json.loads((photo_run / "results/photos/data/dataset.json").read_text())["warnings"] == expected
    log = (photo_run / "results/photos/logs/prepare_dataset.log").read_text().splitlines()
    assert [line for line in log if line.startswith("warning: ")] == [f"warning: {line}" for line in expected]


def test_every_model_has_labels_and_metrics_with_the_class_names(photo_run):
    for dataset, model in [("photos", name) for name in PHOTOS_MODELS] + [("split", "mine")]:
        folder = photo_run / "results" / dataset / model
        assert (folder / "labels.txt").read_text() == "0 blue\n1 green\n2 red\n"
        assert json.loads((folder / "metrics.json").read_text())["classes"] == ["blue", "green", "red"]
    # `datasets: [photos]` keeps the others to photos; `mine`, without it, runs on every dataset.
    assert {folder.name for folder in (photo_run / "results/split").iterdir() if (folder / "metrics.json").exists()} == {"mine"}


def test_the_mobilenet_takes_raw_pixels_and_is_predicted_fully_on_the_edge_tpu(photo_run):
    folder = photo_run / "results/photos/mnv2"
    quantization = json.loads((folder / "metrics.json").read_text())["artifacts"]["int8"]["input_quantization"]
    assert quantization["dtype"] == "uint8"
    low, high = quantization["pixel_range"]  # raw pixels 0 and 255 stand for -1 and 1, within half a step
    assert abs(low + 1) <= quantization["scale"] / 2 + 1e-6 and abs(high - 1) <= quantization["scale"] / 2 + 1e-6
    prediction = json.loads((folder / "edgetpu_prediction.json").read_text())
    assert prediction["fully_mapped"] and prediction["ops_cpu"] == 0
    assert prediction["segments"] == 1 and prediction["parameter_memory"] == "fits"


def test_a_brought_keras_model_is_fine_tuned_and_converted(photo_run):
    folder = photo_run / "results/photos/mine"
    assert len(pd.read_csv(folder / "history.csv")) == 1
    metrics = json.loads((folder / "metrics.json").read_text())["artifacts"]
    assert set(metrics) == {"keras", "float32", "int8"} and metrics["float32"]["agreement_with_keras"] == 1
    assert (folder / "model.keras").read_bytes() != (photo_run / "brought/mine.keras").read_bytes()


def test_a_brought_int8_model_is_used_as_it_is(photo_run):
    folder = photo_run / "results/photos/given"
    assert (folder / "model_int8.tflite").read_bytes() == (photo_run / "brought/given_int8.tflite").read_bytes()
    assert not (folder / "model.keras").exists() and not (folder / "model_float32.tflite").exists()
    metrics = json.loads((folder / "metrics.json").read_text())["artifacts"]
    assert set(metrics) == {"int8"} and 0 <= metrics["int8"]["accuracy"] <= 1
    table = pd.read_csv(photo_run / "results/benchmark.csv")
    rows = table[(table.dataset == "photos") & (table.model == "given") & (table.device == "cpu")]
    assert list(rows.artifact) == ["int8"] and list(rows.status) == ["measured"]
    assert rows.accuracy.iloc[0] == pytest.approx(metrics["int8"]["accuracy"])


def test_an_int8_model_for_other_images_says_why_it_was_not_measured(photo_run):
    metrics = json.loads((photo_run / "results/photos/misfit/metrics.json").read_text())["artifacts"]["int8"]
    assert metrics["not_evaluated"] == "the model takes input of shape (1, 28, 28, 1), the dataset's images are (32, 32, 3)"
    table = pd.read_csv(photo_run / "results/benchmark.csv")
    row = table[(table.model == "misfit") & (table.device == "cpu")].iloc[0]
    assert row.status == "skipped: the model takes input of shape (1, 28, 28, 1), the dataset's images are (32, 32, 3)"
    assert pd.isna(row.median_ms)


def test_the_manifest_records_the_brought_files(photo_run):
    manifest = json.loads((photo_run / "results/manifest.json").read_text())
    recorded = {entry["model"]: entry["sha256"] for entry in manifest["brought_models"]}
    assert recorded == {name: hashlib.sha256((photo_run / f"brought/{name}{suffix}").read_bytes()).hexdigest()
                        for name, suffix in [("mine", ".keras"), ("given", "_int8.tflite"), ("misfit", "_int8.tflite")]}


def test_nothing_to_do_after_the_run_and_touching_reruns_nothing(photo_run):
    assert planned(photo_run) == {}
    for path in list((photo_run / "photos").rglob("*")) + list((photo_run / "brought").iterdir()):
        path.touch()
    assert planned(photo_run) == {}


PHOTOS_RERUN = {"prepare_dataset": 1, "train": 2, "export_saved_model": 2, "convert_float32": 2, "quantize_int8": 2,
                "import_int8": 2, "predict_edgetpu": 4, "evaluate": 4, "benchmark_cpu": 4, "benchmark_edgetpu": 4}


@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_one_image_changed_reruns_exactly_its_dataset(photo_run, change):
    image = photo_run / "photos/green/green_0003.png"
    original = image.read_bytes()
    try:
        if change == "edit":
            pixels = np.asarray(__import__("PIL.Image").Image.open(image)).copy()
            pixels[0, 0] = 255 - pixels[0, 0]
            __import__("PIL.Image").Image.fromarray(pixels).save(image)
        elif change == "add":
            shutil.copy(image, image.with_name("green_extra.png"))
        else:
            image.unlink()
        jobs, output = dry_run(photo_run)
        assert {rule: count for rule, count in jobs.items() if rule in PHOTOS_RERUN} == PHOTOS_RERUN
        # The job names the code it runs, not the 120 images: their sha256 is a parameter.
        job = printed_job(output, "prepare_dataset", "photos")
        assert "    input: scripts/prepare_dataset.py, results/code/prepare_dataset.sha256" in job
        assert any(line.startswith("    reason: Params have changed since last execution") for line in job), job
    finally:
        image.with_name("green_extra.png").unlink(missing_ok=True)
        image.write_bytes(original)
    assert planned(photo_run) == {}


def test_moving_the_folder_reruns_its_preparation(photo_run):
    config = photo_run / "config/config.yaml"
    original = config.read_text()
    moved = yaml.safe_load(original)
    moved["datasets"]["photos"]["path"] = "moved_photos"
    (photo_run / "photos").rename(photo_run / "moved_photos")
    try:
        config.write_text(yaml.safe_dump(moved))
        jobs, output = dry_run(photo_run)
        assert jobs["prepare_dataset"] == 1
        assert any(line.startswith("    reason: Params have changed") for line in printed_job(output, "prepare_dataset", "photos"))
    finally:
        (photo_run / "moved_photos").rename(photo_run / "photos")
        config.write_text(original)
    assert planned(photo_run) == {}


def test_a_changed_brought_model_reruns_only_that_model(photo_run):
    source = photo_run / "brought/given_int8.tflite"
    original = source.read_bytes()
    try:
        source.write_bytes(original + b"\0")  # a trailing byte: same model to a reader, other bytes
        jobs = planned(photo_run)
        assert jobs["import_int8"] == 1 and "train" not in jobs and "prepare_dataset" not in jobs
    finally:
        source.write_bytes(original)


def test_two_clean_runs_are_byte_identical(photo_runs):
    project, (second, status, output) = photo_runs
    assert status == 0, output.read_text()[-3000:]
    for path in REPRODUCED:
        assert (second / path).read_bytes() == (project / path).read_bytes(), path
