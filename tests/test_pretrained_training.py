"""Pretrained backbones and the training's phases: ImageNet weights through Keras' own cache (seeded
here, never downloaded), weights files, fine-tuning with BatchNormalization in inference mode,
the best epoch, early stopping and class weights."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import MNIST, PROJECT, SCRIPTS, environment, write_prepared
from coralbuild.data.idx_reader import read_idx
from coralbuild.defaults import with_defaults
from coralbuild.errors import BadInput
from coralbuild.models import training
from coralbuild.models.training import Phase

WEIGHTS = PROJECT / "tests/data/keras-weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
MOBILENET = {"architecture": "mobilenet_v2", "alpha": 0.35}
# The train section as the workflow hands it over: the schema's defaults filled in.
TRAIN = with_defaults("/properties/train", {"epochs": 3, "batch_size": 32, "learning_rate": 0.001, "seed": 1,
                                            "learning_rate_schedule": "cosine", "keep": "best"})


def rows(*results, phase="train"):
    """History rows of (val_accuracy, val_loss) pairs."""
    return [{"epoch": index + 1, "phase": phase, "val_accuracy": accuracy, "val_loss": loss}
            for index, (accuracy, loss) in enumerate(results)]


# --- the phase plan, from the history alone (what makes a resumed run stop where an uninterrupted one does)

def test_fine_tuning_plans_a_frozen_phase_then_the_unfrozen_one():
    settings = {**MOBILENET, "weights": "imagenet", "fine_tune": {"frozen_epochs": 2, "unfreeze": 40, "learning_rate": 1e-4}}
    assert training.plan_phases(settings, {**TRAIN, "epochs": 5}) == [
        Phase("frozen", 2, 0, 0.001), Phase("fine_tune", 5, 40, 1e-4)]
    assert training.plan_phases(settings, {**TRAIN, "epochs": 2}) == [Phase("frozen", 2, 0, 0.001)]
    no_frozen = {**settings, "fine_tune": {"frozen_epochs": 0}}
    assert training.plan_phases(no_frozen, TRAIN) == [Phase("fine_tune", 3, "all", 0.001)]
    assert training.plan_phases(MOBILENET, TRAIN) == [Phase("train", 3, None, 0.001)]
    assert training.plan_phases(MOBILENET, {**TRAIN, "epochs": 0}) == []


def test_the_best_epoch_is_the_highest_validation_accuracy_ties_to_the_lower_loss():
    assert training.best_epoch_index(rows((0.5, 1.0), (0.7, 0.9), (0.7, 0.8), (0.6, 0.1))) == 2
    assert training.best_epoch_index(rows((0.5, 1.0), (0.5, 1.0))) == 0  # equals: the first
    assert training.best_epoch_index([]) is None


def test_early_stopping_counts_epochs_without_gain_within_the_phase():
    phases = [Phase("frozen", 4, 0, 0.01), Phase("fine_tune", 10, 40, 0.001)]
    history = rows((0.5, 1.0), (0.6, 0.9), (0.6, 0.95), (0.55, 1.0), phase="frozen")
    # Two frozen epochs without gain end the frozen phase early; fine-tuning takes over.
    assert training.epochs_without_gain(history[:3]) == 1
    assert training.current_phase(history[:3], phases, patience=1) == phases[1]
    assert training.current_phase(history[:3], phases, patience=2) == phases[0]
    # The frozen phase's last epoch was trained: fine-tuning starts whatever the patience.
    assert training.current_phase(history, phases, patience=None) == phases[1]
    # In the new phase, the count starts at its first epoch, against the run's best so far.
    tuned = history + rows((0.58, 0.9), (0.59, 0.9), phase="fine_tune")
    assert training.epochs_without_gain(tuned) == 2
    assert training.current_phase(tuned, phases, patience=2) is None
    assert training.current_phase(tuned, phases, patience=3) == phases[1]
    assert "stopped early: no better validation result in 2 epochs" in training.stop_reason(tuned, phases, 2)
    assert training.stop_reason(history, phases, 2) == "frozen phase completed (4 epochs in all)"


def test_balanced_class_weights_give_every_class_the_same_total_weight():
    labels = np.array([0] * 90 + [1] * 10 + [2] * 20)
    weights = training.class_weights(labels, "balanced")
    totals = [weights[c] * np.sum(labels == c) for c in (0, 1, 2)]
    assert totals == pytest.approx([40.0, 40.0, 40.0])
    assert training.class_weights(labels, "none") is None


# --- building pretrained models

def test_a_weights_file_loads_at_another_input_size_and_the_batchnorm_layers_stay_frozen():
    import keras

    from coralbuild.models.architectures import build_model
    from coralbuild.models.architectures.applications import backbone_layers, set_trainable_backbone

    pretrained = build_model({**MOBILENET, "weights": str(WEIGHTS)}, (48, 48, 3), 5)
    scratch = build_model(MOBILENET, (48, 48, 3), 5)
    reference = keras.applications.MobileNetV2(input_shape=(224, 224, 3), alpha=0.35, include_top=False,
                                               weights=str(WEIGHTS))
    kernel = reference.get_layer("Conv1").kernel.numpy()
    assert np.array_equal(pretrained.get_layer("Conv1").kernel.numpy(), kernel)
    assert not np.array_equal(scratch.get_layer("Conv1").kernel.numpy(), kernel)
    norms = [layer for layer in pretrained.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(layer.trainable for layer in norms)
    assert all(layer.trainable for layer in scratch.layers if isinstance(layer, keras.layers.BatchNormalization))

    set_trainable_backbone(pretrained, 40)
    layers = backbone_layers(pretrained)
    trainable = [layer.name for layer in layers if layer.trainable]
    assert trainable == [layer.name for layer in layers[-40:] if not isinstance(layer, keras.layers.BatchNormalization)]
    assert pretrained.get_layer("classifier").trainable
    set_trainable_backbone(pretrained, 0)
    assert not pretrained.trainable_variables[:-2]  # only the classifier's kernel and bias train


def test_a_weights_file_of_another_width_is_one_line_naming_the_file_and_the_network():
    from coralbuild.models.architectures import build_model

    with pytest.raises(BadInput) as error:
        build_model({**MOBILENET, "alpha": 0.5, "weights": str(WEIGHTS)}, (48, 48, 3), 5)
    message = str(error.value)
    assert "\n" not in message and str(WEIGHTS) in message and "mobilenet_v2 (alpha 0.5)" in message


def test_unfreezing_more_layers_than_the_backbone_has_names_both():
    from coralbuild.models.architectures import build_model

    settings = {**MOBILENET, "weights": str(WEIGHTS), "fine_tune": {"frozen_epochs": 1, "unfreeze": 1000}}
    with pytest.raises(BadInput, match=r"^fine_tune.unfreeze is 1000, but the mobilenet_v2 backbone has 153 layers"):
        build_model(settings, (48, 48, 3), 5)


# --- the training job, as its rule runs it

@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A prepared split of 240 MNIST digits as 32x32 RGB (the smallest MobileNet input): an epoch
    takes a second."""
    import PIL.Image

    images = read_idx(MNIST / "train-images-idx3-ubyte.gz", 3)[:340]
    labels = read_idx(MNIST / "train-labels-idx1-ubyte.gz", 1)[:340]
    rgb = np.stack([np.asarray(PIL.Image.fromarray(image).resize((32, 32)).convert("RGB")) for image in images])
    return write_prepared(tmp_path_factory.mktemp("digits") / "data", {
        "x_train": rgb[:240], "y_train": labels[:240], "x_val": rgb[240:300], "y_val": labels[240:300],
        "x_test": rgb[300:], "y_test": labels[300:]})


def train_command(data, folder, model_settings, train_settings):
    return [sys.executable, str(SCRIPTS / "train.py"), "--data", str(data), "--name", "mnv2",
            "--model-settings", json.dumps(model_settings), "--train-settings", json.dumps(train_settings),
            "--threads", "2", "--model", str(folder / "model.keras"), "--history", str(folder / "history.csv"),
            "--state", str(folder / "train_state.npz")]


def run_training(data, folder, model_settings, train_settings=TRAIN, **variables):
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(train_command(data, folder, model_settings, train_settings), capture_output=True,
                          text=True, env=environment(**variables))


@pytest.fixture
def seeded_keras_home(tmp_path):
    """A Keras cache holding only Keras' own MobileNetV2 0.35 file for 224x224, as a machine
    that downloaded it once has it."""
    home = tmp_path / "keras-home"
    (home / "models").mkdir(parents=True)
    (home / "models" / WEIGHTS.name).write_bytes(WEIGHTS.read_bytes())
    return home


def test_imagenet_weights_offline_and_not_cached_is_one_line_and_writes_nothing(tmp_path):
    """At 96x96 Keras wants its own file for that size, which is not cached and cannot be
    downloaded: a proxy that refuses every connection makes the download fail on any machine."""
    data = write_prepared(tmp_path / "data96", {
        f"{kind}_{split}": (np.zeros((10, 96, 96, 3), np.uint8) if kind == "x" else np.arange(10) % 2)
        for split in ("train", "val", "test") for kind in ("x", "y")})
    home = tmp_path / "empty-keras-home"
    refused = {name: "http://127.0.0.1:9" for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
    result = run_training(data, tmp_path / "run", {**MOBILENET, "weights": "imagenet"}, KERAS_HOME=str(home),
                          NO_PROXY="", no_proxy="", **refused)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()[-1:]
    wanted = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    assert line.startswith("error: models.mnv2: ImageNet weights for mobilenet_v2 at 96x96: ") and wanted in line
    assert f"put it in {home / 'models'}/" in line and "set the model's weights to the path" in line
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == []


def kill_after_epoch(command, state, epoch, **variables):
    """Start training and SIGKILL it once the kept state holds at least `epoch` finished epochs."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=environment(**variables))
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with np.load(state) as kept:
                if len(json.loads(str(kept["history"]))) >= epoch:
                    break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_imagenet_weights_from_keras_cache_fine_tuned_killed_and_resumed_bit_identical(digits, tmp_path,
                                                                                     seeded_keras_home):
    """The real `weights: imagenet` path offline (at 32x32 Keras has no file of its own and takes
    the 224x224 one, here from the seeded cache), through both phases, killed inside fine-tuning:
    the resumed run ends with the bytes of an uninterrupted one."""
    import keras

    settings = {**MOBILENET, "weights": "imagenet", "fine_tune": {"frozen_epochs": 1, "unfreeze": 30,
                                                                   "learning_rate": 0.0005}}
    home = {"KERAS_HOME": str(seeded_keras_home)}
    uninterrupted = run_training(digits, tmp_path / "uninterrupted", settings, **home)
    assert uninterrupted.returncode == 0, uninterrupted.stdout[-2000:] + uninterrupted.stderr[-2000:]
    assert "Downloading" not in uninterrupted.stdout + uninterrupted.stderr
    assert "phase frozen: epochs 1 to 1" in uninterrupted.stdout
    assert "phase fine_tune: epochs 2 to 3" in uninterrupted.stdout
    assert sorted(path.name for path in (seeded_keras_home / "models").iterdir()) == [WEIGHTS.name]

    model = keras.saving.load_model(tmp_path / "uninterrupted/model.keras")
    reference = keras.applications.MobileNetV2(input_shape=(224, 224, 3), alpha=0.35, include_top=False,
                                               weights=str(WEIGHTS))
    # The first convolution was never unfrozen: it keeps ImageNet's values.
    assert np.array_equal(model.get_layer("Conv1").kernel.numpy(), reference.get_layer("Conv1").kernel.numpy())
    # A layer among the last 30 did train; the BatchNormalization layers beside it stayed in inference mode.
    assert not np.array_equal(model.get_layer("Conv_1").kernel.numpy(), reference.get_layer("Conv_1").kernel.numpy())
    for name in ("Conv_1_bn", "block_16_project_BN"):
        assert np.array_equal(model.get_layer(name).moving_mean.numpy(), reference.get_layer(name).moving_mean.numpy())

    folder = tmp_path / "resumed"
    folder.mkdir()
    kill_after_epoch(train_command(digits, folder, settings, TRAIN), folder / "train_state.npz", 2, **home)
    assert not (folder / "model.keras").exists(), "the kill did not land mid-training"
    resumed = run_training(digits, folder, settings, **home)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming after epoch 2" in resumed.stdout, resumed.stdout[-3000:]
    for name in ("model.keras", "history.csv"):
        assert (folder / name).read_bytes() == (tmp_path / "uninterrupted" / name).read_bytes(), name


def test_keep_best_keeps_an_earlier_epoch_than_keep_last(digits, tmp_path):
    """A learning rate too high for the MLP: validation accuracy peaks and falls back, so the best
    epoch is not the last, and each setting keeps the weights of its epoch."""
    import keras
    import pandas as pd

    from coralbuild.data.prepared import load_split
    from coralbuild.models.preprocessing import to_model_input

    mlp = {"architecture": "mlp", "hidden_units": [64], "dropout": 0.0}
    noisy = {**TRAIN, "epochs": 4, "learning_rate": 0.03, "learning_rate_schedule": "constant"}
    kept = {}
    for keep in ("best", "last"):
        result = run_training(digits, tmp_path / keep, mlp, {**noisy, "keep": keep})
        assert result.returncode == 0, result.stderr[-2000:]
        history = pd.read_csv(tmp_path / keep / "history.csv")
        assert history["kept"].sum() == 1
        kept[keep] = history
    best, last = kept["best"], kept["last"]
    assert best[["epoch", "val_accuracy", "val_loss"]].equals(last[["epoch", "val_accuracy", "val_loss"]])
    best_epoch = int(best.loc[best["kept"], "epoch"].iloc[0])
    assert best_epoch == best["val_accuracy"].idxmax() + 1 and best_epoch < len(best), "the fixture must peak early"
    assert bool(last["kept"].iloc[-1])
    assert last["stopped"].iloc[-1] == "train phase completed (4 epochs in all)"
    split = load_split(digits)
    inputs = to_model_input(np.asarray(split["x_val"]), (0.0, 1.0))
    for keep, epoch in (("best", best_epoch), ("last", len(last))):
        model = keras.saving.load_model(tmp_path / keep / "model.keras")
        accuracy = float(np.mean(np.argmax(model.predict(inputs, verbose=0), axis=1) == np.asarray(split["y_val"])))
        assert accuracy == pytest.approx(best.loc[epoch - 1, "val_accuracy"], abs=1e-6), keep


def test_early_stopping_ends_training_and_history_says_why(digits, tmp_path):
    mlp = {"architecture": "mlp", "hidden_units": [64], "dropout": 0.0}
    settings = {**TRAIN, "epochs": 12, "learning_rate": 0.03, "learning_rate_schedule": "constant",
                "early_stopping": {"patience": 2}}
    result = run_training(digits, tmp_path / "run", mlp, settings)
    assert result.returncode == 0, result.stderr[-2000:]
    import pandas as pd

    history = pd.read_csv(tmp_path / "run/history.csv")
    assert len(history) < 12
    best = history["val_accuracy"].idxmax()
    assert len(history) == best + 1 + 2  # two epochs without gain after the best, then the stop
    assert history["stopped"].iloc[-1] == "train phase stopped early: no better validation result in 2 epochs"
    assert bool(history["kept"].iloc[best])


def test_balanced_class_weights_raise_the_recall_of_a_rare_class(tmp_path):
    """Two digits, one ten times rarer in training: weighted, the rare one is recalled more often."""
    import keras

    from coralbuild.models.architectures import build_model
    from coralbuild.models.training import TrainingState, train

    images = read_idx(MNIST / "train-images-idx3-ubyte.gz", 3)[:6000]
    labels = read_idx(MNIST / "train-labels-idx1-ubyte.gz", 1)[:6000]
    common, rare = np.flatnonzero(labels == 3), np.flatnonzero(labels == 5)
    train_rows, val_rows = np.concatenate([common[:300], rare[:30]]), np.concatenate([common[300:400], rare[100:200]])
    split = {"x_train": images[train_rows, ..., None], "y_train": (labels[train_rows] == 5).astype(np.int64),
             "x_val": images[val_rows, ..., None], "y_val": (labels[val_rows] == 5).astype(np.int64)}
    settings = {**TRAIN, "epochs": 1, "batch_size": 32, "keep": "last"}
    recall = {}
    for mode in ("none", "balanced"):
        keras.utils.set_random_seed(settings["seed"])
        model = build_model({"architecture": "mlp", "hidden_units": [16], "dropout": 0.0}, (28, 28, 1), 2, seed=1)
        train(model, split, {**settings, "class_weight": mode}, 1, TrainingState(tmp_path / f"{mode}.npz", mode, "last"))
        predicted = np.argmax(model.predict(split["x_val"].astype(np.float32) / 255, verbose=0), axis=1)
        recall[mode] = float(np.mean(predicted[split["y_val"] == 1] == 1))
    assert recall["balanced"] > recall["none"] + 0.1, recall


def test_a_training_killed_after_its_last_epoch_resumes_to_the_same_bytes(digits, tmp_path):
    """Every epoch done, then the save failed (here: a folder stands where the checkpoint goes):
    the rerun trains nothing and writes what an uninterrupted run writes, optimizer included."""
    mlp = {"architecture": "mlp", "hidden_units": [32], "dropout": 0.1}
    settings = {**TRAIN, "epochs": 2}
    uninterrupted = run_training(digits, tmp_path / "uninterrupted", mlp, settings)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]
    folder = tmp_path / "resumed"
    folder.mkdir()
    command = train_command(digits, folder, mlp, settings)
    (folder / "in-the-way.keras").mkdir()
    command[command.index("--model") + 1] = str(folder / "in-the-way.keras")
    failed = subprocess.run(command, capture_output=True, text=True, env=environment())
    assert failed.returncode != 0 and (folder / "train_state.npz").exists()
    resumed = run_training(digits, folder, mlp, settings)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming after epoch 2" in resumed.stdout and "Epoch " not in resumed.stdout
    for name in ("model.keras", "history.csv"):
        assert (folder / name).read_bytes() == (tmp_path / "uninterrupted" / name).read_bytes(), name
