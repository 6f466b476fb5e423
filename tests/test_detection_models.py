"""Detectors and other models you bring without a classification dataset (`task: detect | none`):
their head recognised from the outputs, float edges around an int8 body accepted, seeded inputs
of their own shapes, and a run with no dataset that measures latency and says why there is no
accuracy. The models are the two real Ultralytics YOLOv8n exports of tests/data/yolo."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import PROJECT, run_script, run_snakemake
from coralbuild.errors import BadInput, ConfigError
from coralbuild.layout import NO_DATASET
from coralbuild.measure.benchmarking import seeded_inputs
from coralbuild.measure.inference import check_fully_integer, load_interpreter
from coralbuild.measure.model_io import check_detector, detection_head, float_edge_tensors
from coralbuild.stages import model_datasets
from coralbuild.workflow import check_models

YOLO = PROJECT / "tests/data/yolo"
FLOAT_IO = YOLO / "yolov8n_320_float_io.tflite"  # float input and output, 8 classes
INT8_IO = YOLO / "yolov8n_640_int8.tflite"  # int8 input and output, 4 classes
CLASSIFIER = PROJECT / "tests/data/cnn_int8.tflite"


@pytest.mark.parametrize("path, classes, anchors", [(FLOAT_IO, 8, 2100), (INT8_IO, 4, 8400)])
def test_an_ultralytics_head_is_recognised_with_its_classes_and_anchors(path, classes, anchors):
    assert detection_head(path) == {"kind": "ultralytics", "classes": classes, "anchors": anchors}


def test_a_classifier_matches_no_detection_head():
    assert detection_head(CLASSIFIER) is None
    with pytest.raises(BadInput, match=r"cnn_int8.tflite: task detect, but its outputs \(\(1, 10\)\) match no known"):
        check_detector(CLASSIFIER)


def test_float_edges_are_allowed_only_where_asked_for():
    edges = float_edge_tensors(FLOAT_IO)
    model = load_interpreter(FLOAT_IO)
    assert edges == {model.get_input_details()[0]["index"], model.get_output_details()[0]["index"]}
    check_fully_integer(FLOAT_IO, edges)
    with pytest.raises(BadInput, match="must be fully int8.*serving_default_images:0' is float32"):
        check_fully_integer(FLOAT_IO)
    assert float_edge_tensors(INT8_IO) == set()


def test_seeded_inputs_have_the_models_shapes_and_types_and_repeat():
    interpreter = load_interpreter(INT8_IO)
    first, again = seeded_inputs(interpreter, (0.0, 1.0)), seeded_inputs(interpreter, (0.0, 1.0))
    assert all(arrays[0].shape == (1, 640, 640, 3) and arrays[0].dtype == np.int8 for arrays in first)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0][0], first[1][0])  # distinct samples, not one input repeated
    floats = seeded_inputs(load_interpreter(FLOAT_IO), (-1.0, 1.0))[0][0]
    assert floats.dtype == np.float32 and -1.0 <= floats.min() < -0.9 and 0.9 < floats.max() <= 1.0


MNIST = yaml.safe_load((PROJECT / "config/config.yaml").read_text())["datasets"]


def planned(models, datasets=None):
    config = {"datasets": datasets or {}, "models": models, "train": {"epochs": 1}}
    check_models(config)
    return {name: model_datasets(config, name) for name in models}


def test_a_detector_runs_on_no_dataset_beside_classifiers_on_theirs():
    assert planned({"yolo": {"source": str(INT8_IO), "task": "detect"},
                    "cnn": {"architecture": "mlp", "hidden_units": [8], "dropout": 0.1}}, MNIST) == {
        "yolo": [NO_DATASET], "cnn": ["mnist"]}


@pytest.mark.parametrize("models, datasets, message", [
    ({"cnn": {"architecture": "mlp", "hidden_units": [8], "dropout": 0.1}}, None,
     "invalid config at models.cnn: a task-classify model needs a dataset of format idx or image_folder"),
    ({"yolo": {"source": str(INT8_IO), "task": "detect", "datasets": ["mnist"]}}, MNIST,
     "invalid config at models.yolo.datasets: dataset mnist is of format idx, and a task-detect model is "
     "measured on yolo"),
    ({"other": {"source": str(INT8_IO), "task": "none", "datasets": ["mnist"]}}, MNIST,
     "measured on no dataset"),
])
def test_a_task_without_its_kind_of_dataset_is_one_config_line(models, datasets, message):
    with pytest.raises(ConfigError, match=message):
        planned(models, datasets)


def test_detect_on_a_model_trained_here_is_refused(tmp_path):
    source = tmp_path / "model.keras"
    source.write_bytes(b"")
    with pytest.raises(ConfigError, match="models.k.task: task detect takes a model you bring as a fully int8 .tflite"):
        planned({"k": {"source": str(source), "task": "detect"}})


def test_import_refuses_a_classifier_given_as_a_detector(tmp_path):
    result = run_script("import_int8.py", "--source", CLASSIFIER, "--task", "detect",
                        "--output", tmp_path / "model_int8.tflite", "--labels", tmp_path / "labels.txt")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and "match no known detection head" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_detector_alone_is_measured_without_accuracy_and_described(tmp_path):
    source = tmp_path / "yolov8n.tflite"
    shutil.copyfile(FLOAT_IO, source)
    config = tmp_path / "detector.yaml"
    config.write_text(yaml.safe_dump({
        "models": {"yolo": {"source": str(source), "task": "detect"}},
        "compile": {"compiler": "off"},
        "benchmark": {"devices": ["cpu"], "warmup": 1, "iterations": 3}}))
    result = run_snakemake(tmp_path, "-s", str(PROJECT / "Snakefile"), "--configfile", str(config), "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    folder = tmp_path / "results" / NO_DATASET / "yolo"
    assert (folder / "model_int8.tflite").read_bytes() == FLOAT_IO.read_bytes()
    assert (folder / "labels.txt").read_text() == ""
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["task"] == "detect" and metrics["head"]["kind"] == "ultralytics"
    assert metrics["model_io"]["inputs"][0]["shape"] == [1, 320, 320, 3]
    assert metrics["artifacts"]["int8"]["accuracy"] is None
    row = pd.read_csv(tmp_path / "results/benchmark.csv").set_index("artifact").loc["int8"]
    assert row.status == "measured" and row.median_ms > 0 and np.isnan(row.accuracy)
    assert row.accuracy_note == "not measured: no dataset to score a task-detect model on"
    summary = pd.read_csv(tmp_path / "results/summary.csv").iloc[0]
    assert summary.dataset == NO_DATASET and summary.task == "detect"
    assert summary.model_io == "in 1x320x320x3 float32; out 1x12x2100 float32; head ultralytics, 8 classes"
    prediction = json.loads((folder / "edgetpu_prediction.json").read_text())
    assert prediction["model"] == "yolo" and prediction["dataset"] == NO_DATASET
