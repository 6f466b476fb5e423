"""Per-class metrics (coralbuild.measure.classification) against hand-checked confusion matrices,
and where they reach: evaluate.py's metrics.json, the calibration count, and the Edge TPU row."""

import json

import numpy as np
import pytest

from conftest import MNIST, PROJECT, run_script, write_prepared
from coralbuild.data.idx_reader import read_idx
from coralbuild.measure.classification import (
    balanced_accuracy,
    classification_metrics,
    confusion_matrix,
    per_class,
    ranked_classes,
    recall_change,
)

INT8 = PROJECT / "tests/data/cnn_int8.tflite"
DIGITS = [str(digit) for digit in range(10)]

# Three classes, hand-checked: class a 2 images (1 right), b 3 (all right), c 1 (taken for b),
# and nothing predicted as c.
LABELS = [0, 0, 1, 1, 1, 2]
PREDICTED = [0, 1, 1, 1, 1, 1]


def test_the_confusion_matrix_counts_true_rows_against_predicted_columns():
    assert confusion_matrix(LABELS, PREDICTED, 3).tolist() == [[1, 1, 0], [0, 3, 0], [0, 1, 0]]


def test_per_class_figures_and_undefined_ones():
    figures = per_class(confusion_matrix(LABELS, PREDICTED, 3))
    # precision: a 1/1, b 3/5, c never predicted (undefined, not 0)
    assert figures["precision"] == [1.0, 0.6, None]
    assert figures["recall"] == [0.5, 1.0, 0.0]
    # F1 = 2TP / (2TP + FP + FN): a 2/3, b 6/8, c 0/1
    assert figures["f1"] == pytest.approx([2 / 3, 0.75, 0.0])
    assert figures["support"] == [2, 3, 1]
    # A class neither in the test split nor predicted has no recall and no F1.
    absent = per_class(confusion_matrix([0, 1], [0, 1], 3))
    assert absent["recall"][2] is None and absent["f1"][2] is None and absent["support"][2] == 0


def test_balanced_accuracy_is_the_mean_recall_over_the_classes_present():
    assert balanced_accuracy(confusion_matrix(LABELS, PREDICTED, 3)) == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    # Plain accuracy is 4/6, but always answering the big class is worth 1/2 balanced.
    majority = confusion_matrix([0, 0, 0, 1], [0, 0, 0, 0], 2)
    assert balanced_accuracy(majority) == 0.5
    # A class without test images does not count (its recall is undefined).
    assert balanced_accuracy(confusion_matrix([0, 1], [0, 0], 3)) == 0.5


def test_ranking_breaks_ties_like_argmax_and_reads_uint8_outputs():
    scores = np.array([[3, 9, 9, 0, 255], [7, 7, 7, 7, 7]], dtype=np.uint8)
    ranked = ranked_classes(scores, 3)
    assert ranked.tolist() == [[4, 1, 2], [0, 1, 2]]  # 255 first (no wrap-around); ties by index
    assert (ranked[:, 0] == np.argmax(scores, axis=1)).all()


def test_top5_counts_the_true_class_among_the_five_best_and_only_beyond_five_classes():
    classes = [f"c{index}" for index in range(7)]
    scores = np.array([[6, 5, 4, 3, 2, 1, 0],   # true 4: fifth best, a top-5 hit
                       [6, 5, 4, 3, 2, 1, 0],   # true 5: sixth best, a miss
                       [0, 1, 2, 3, 4, 5, 6]])  # true 6: best
    labels = [4, 5, 6]
    metrics = classification_metrics(labels, ranked_classes(scores, 5), classes)
    assert metrics["accuracy"] == pytest.approx(1 / 3) and metrics["top5_accuracy"] == pytest.approx(2 / 3)
    assert metrics["confusion_matrix"][4][0] == 1 and metrics["per_class"]["c6"]["recall"] == 1.0
    few = classification_metrics([0, 1], ranked_classes(np.eye(2), 2), ["x", "y"])
    assert "top5_accuracy" not in few and few["balanced_accuracy"] == 1.0


def test_the_recall_change_lists_the_hurt_classes_first():
    before = classification_metrics(LABELS, np.array(LABELS)[:, None], ["a", "b", "c"])  # every image right
    after = classification_metrics(LABELS, np.array(PREDICTED)[:, None], ["a", "b", "c"])
    changes = recall_change(before, after, ["a", "b", "c"], ("float32", "int8"))
    assert [(change["class"], change["change"]) for change in changes] == [("c", -1.0), ("a", -0.5), ("b", 0.0)]
    assert changes[0] == {"class": "c", "float32_recall": 1.0, "int8_recall": 0.0, "change": -1.0}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """200 MNIST training images (fewer than the default 500 calibration images), 300 test
    images, and a prepare-step warning in dataset.json."""
    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz", 3)[:300]
    labels = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz", 1)[:300]
    folder = write_prepared(tmp_path_factory.mktemp("data") / "data", {
        "x_train": images[:200], "y_train": labels[:200], "x_val": images[200:250], "y_val": labels[200:250],
        "x_test": images, "y_test": labels}, classes=DIGITS)
    info = json.loads((folder / "dataset.json").read_text())
    (folder / "dataset.json").write_text(json.dumps({**info, "warnings": ["class 7 has 3 validation images"]}))
    return folder


def expected_metrics(data):
    """The int8 model's metrics computed here, from its ranked predictions."""
    from coralbuild.data.prepared import load_split
    from coralbuild.measure.inference import load_interpreter, predict_ranked

    split = load_split(data)
    ranked = predict_ranked(load_interpreter(INT8), split["x_test"], (0.0, 1.0), 5)
    return classification_metrics(split["y_test"], ranked, DIGITS)


def test_evaluate_writes_every_metric_the_calibration_and_the_dataset_warnings(tmp_path, data):
    output = tmp_path / "metrics.json"
    result = run_script("evaluate.py", "--data", data, "--tflite", f"int8={INT8}", "--representative-samples", 500,
                        "--output", output)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(output.read_text())
    int8 = metrics["artifacts"]["int8"]
    expected = expected_metrics(data)
    for key in ("accuracy", "balanced_accuracy", "top5_accuracy", "per_class", "confusion_matrix"):
        assert int8[key] == expected[key], key
    assert sum(map(sum, int8["confusion_matrix"])) == 300 and int8["top5_accuracy"] >= int8["accuracy"]
    assert metrics["calibration"] == {"representative_samples": 500, "training_images": 200, "used": 200,
                                      "note": "calibrated on all 200 training images, fewer than "
                                              "quantize.representative_samples (500)"}
    assert "calibration: calibrated on all 200 training images" in result.stdout
    assert metrics["dataset_warnings"] == ["class 7 has 3 validation images"]
    assert "int8_recall_change" not in metrics  # no float32 model to compare with


def test_evaluate_lists_the_int8_recall_change_against_float32(tmp_path, data):
    """The same file as both artifacts: every class is listed, and none changed."""
    output = tmp_path / "metrics.json"
    result = run_script("evaluate.py", "--data", data, "--tflite", f"float32={INT8}", f"int8={INT8}",
                        "--output", output)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(output.read_text())
    assert sorted(change["class"] for change in metrics["int8_recall_change"]) == DIGITS
    assert {change["change"] for change in metrics["int8_recall_change"]} == {0.0}
    assert "calibration" not in metrics  # not a model quantized here
    assert "int8 recall against float32, worst first (points): " in result.stdout


def test_fewer_training_images_than_representative_samples_calibrate_on_all(data, capsys):
    from convert_tflite import representative_images

    assert len(representative_images(data, 500)) == 200
    assert capsys.readouterr().out.strip() == (f"quantize.representative_samples is 500 but {data} has 200 training "
                                               f"images: calibrating on all 200")
    assert len(representative_images(data, 50)) == 50 and capsys.readouterr().out == ""


def test_the_edge_tpu_measurement_gives_balanced_accuracy_and_per_class_metrics(data):
    """The Edge TPU's request (a reference to agree with), run on the CPU: there is no device here."""
    from coralbuild.measure.measurement import measure_in_child

    row = measure_in_child({"model": str(INT8), "device": "cpu", "data": str(data), "reference": str(INT8),
                            "input_range": [0.0, 1.0], "threads": 1, "warmup": 1, "iterations": 5}, timeout_s=120)
    expected = expected_metrics(data)
    assert row["status"] == "measured" and row["agreement"] == 1.0
    assert row["accuracy"] == expected["accuracy"] and row["balanced_accuracy"] == expected["balanced_accuracy"]
    assert row["class_metrics"] == expected


def test_the_int8_loss_warning_fires_beyond_noise_only():
    from coralbuild.measure.classification import int8_loss_warning

    assert int8_loss_warning(0.77, 0.10, 200).startswith("warning: the int8 model's top-1 accuracy is 67.0 points below")
    assert int8_loss_warning(0.77, 0.76, 200) is None  # a point: a sound conversion
    assert int8_loss_warning(0.80, 0.775, 40) is None  # one image of forty: noise
    assert int8_loss_warning(0.80, 0.70, 40) is not None
