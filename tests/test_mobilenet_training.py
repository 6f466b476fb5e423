"""A MobileNet trained from scratch evaluates as well as it trains: keras.applications'
BatchNormalization momentum of 0.999 leaves the moving statistics near their start after a few
epochs (inference at chance); the architectures' `bn_momentum` (default 0.9) fixes that."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import IMAGE_FOLDER_COLOURS, SCRIPTS, environment, write_prepared

TRAIN = {"epochs": 12, "batch_size": 16, "learning_rate": 0.005, "seed": 0}


@pytest.fixture(scope="module")
def colour_data(tmp_path_factory):
    """Noisy 32x32 images of three colours (the classes), 60 per class to train on."""
    rng = np.random.default_rng(0)

    def images(per_class):
        pixels, labels = [], []
        for label, colour in enumerate(IMAGE_FOLDER_COLOURS.values()):
            noise = rng.integers(-40, 41, (per_class, 32, 32, 3))
            pixels.append(np.clip(np.asarray(colour) + noise, 0, 255).astype(np.uint8))
            labels += [label] * per_class
        order = rng.permutation(len(labels))
        return np.concatenate(pixels)[order], np.asarray(labels)[order]

    arrays = {}
    for split, per_class in (("train", 60), ("val", 10), ("test", 20)):
        arrays[f"x_{split}"], arrays[f"y_{split}"] = images(per_class)
    return write_prepared(tmp_path_factory.mktemp("colours") / "data", arrays, classes=list(IMAGE_FOLDER_COLOURS))


def train_and_evaluate(data, folder, model_settings):
    """(last epoch's training accuracy, test accuracy of the saved model)."""
    folder.mkdir()
    result = subprocess.run([sys.executable, str(SCRIPTS / "train.py"), "--data", str(data), "--threads", "2",
                             "--model-settings", json.dumps(model_settings), "--train-settings", json.dumps(TRAIN),
                             "--model", str(folder / "model.keras"), "--history", str(folder / "history.csv"),
                             "--state", str(folder / "state.npz")], capture_output=True, text=True, env=environment())
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = folder / "metrics.json"
    result = subprocess.run([sys.executable, str(SCRIPTS / "evaluate.py"), "--data", str(data),
                             "--keras", str(folder / "model.keras"), "--input-range", "-1", "1",
                             "--output", str(metrics)], capture_output=True, text=True, env=environment())
    assert result.returncode == 0, result.stderr[-2000:]
    train_accuracy = pd.read_csv(folder / "history.csv").accuracy.iloc[-1]
    return train_accuracy, json.loads(metrics.read_text())["artifacts"]["keras"]["accuracy"]


def test_evaluation_accuracy_follows_training_accuracy(colour_data, tmp_path):
    trained, tested = train_and_evaluate(colour_data, tmp_path / "default",
                                         {"architecture": "mobilenet_v2", "alpha": 0.35})
    assert trained >= 0.9
    assert tested >= trained - 0.1


def test_keras_default_momentum_evaluates_far_below_its_training_accuracy(colour_data, tmp_path):
    """The failure the setting exists for, shown on the same data: keep this test honest."""
    trained, tested = train_and_evaluate(colour_data, tmp_path / "keras-default",
                                         {"architecture": "mobilenet_v2", "alpha": 0.35, "bn_momentum": 0.999})
    assert trained >= 0.9
    assert tested <= trained - 0.3
