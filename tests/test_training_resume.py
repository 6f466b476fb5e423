"""A killed training resumes from its last finished epoch and ends bit-identical to an uninterrupted one."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from conftest import MNIST, PROJECT, SCRIPTS, environment, write_prepared
from coralbuild.data.idx_reader import read_idx

CONFIG = yaml.safe_load((PROJECT / "config/config.yaml").read_text())
# With a schedule, so that a resumed run must also continue the learning rate where it stopped.
SETTINGS = {**CONFIG["train"], "epochs": 4, "learning_rate_schedule": "cosine"}


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    images = read_idx(MNIST / "train-images-idx3-ubyte.gz", 3)
    labels = read_idx(MNIST / "train-labels-idx1-ubyte.gz", 1)
    return write_prepared(tmp_path_factory.mktemp("split") / "data", {
        "x_train": images[:3000], "y_train": labels[:3000], "x_val": images[3000:3500],
        "y_val": labels[3000:3500], "x_test": images[3500:3600], "y_test": labels[3500:3600]})


def train_command(split, folder, model):
    return [sys.executable, str(SCRIPTS / "train.py"), "--data", str(split),
            "--model-settings", json.dumps(CONFIG["models"][model]), "--train-settings", json.dumps(SETTINGS),
            "--threads", "2", "--model", str(folder / "model.keras"), "--history", str(folder / "history.csv"),
            "--state", str(folder / "train_state.npz")]


def train(split, folder, model):
    folder.mkdir(exist_ok=True)
    result = subprocess.run(train_command(split, folder, model), capture_output=True, text=True, env=environment())
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def kill_after_first_epoch(split, folder, model):
    """Start training and SIGKILL it as soon as the state of a finished epoch is on disk."""
    folder.mkdir(exist_ok=True)
    process = subprocess.Popen(train_command(split, folder, model), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=environment())
    state, deadline = folder / "train_state.npz", time.monotonic() + 300
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert state.exists() and not (folder / "model.keras").exists(), "the kill did not land mid-training"


# The MLP, whose Dropout draws from a seed generator that must be resumed too; the CNN is
# killed and resumed inside a whole workflow run (test_workflow_e2e).
@pytest.mark.parametrize("model", ["mlp"])
def test_killed_training_resumes_and_matches_an_uninterrupted_run(split, tmp_path, model):
    # The uninterrupted run trains beside the killed one (each mostly uses one core).
    (tmp_path / "uninterrupted").mkdir()
    with open(tmp_path / "uninterrupted.out", "w") as output:
        uninterrupted = subprocess.Popen(train_command(split, tmp_path / "uninterrupted", model), stdout=output,
                                         stderr=subprocess.STDOUT, env=environment())
    try:
        kill_after_first_epoch(split, tmp_path / "resumed", model)
        log = train(split, tmp_path / "resumed", model)
    finally:
        uninterrupted.wait()
    assert uninterrupted.returncode == 0, (tmp_path / "uninterrupted.out").read_text()[-3000:]
    epochs_done = int(log.split("resuming after epoch ")[1].split()[0])
    assert 1 <= epochs_done < SETTINGS["epochs"]
    assert f"Epoch {epochs_done + 1}/{SETTINGS['epochs']}" in log and f"Epoch {epochs_done}/" not in log
    for name in ("model.keras", "history.csv"):
        assert (tmp_path / "resumed" / name).read_bytes() == (tmp_path / "uninterrupted" / name).read_bytes(), name
    for folder in ("uninterrupted", "resumed"):
        assert sorted(p.name for p in (tmp_path / folder).iterdir()) == ["history.csv", "model.keras"]


@pytest.fixture(scope="module")
def keras_model():
    from coralbuild.models.architectures import build_model

    def make():
        model = build_model(CONFIG["models"]["mlp"], (28, 28, 1), 10, seed=1)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model
    return make


def kept_state(path, model, fingerprint="inputs-1"):
    from coralbuild.models.training import TrainingState

    state = TrainingState(path, fingerprint, "last")
    state.restore(model)
    for variable in model.variables:
        variable.assign(np.full(variable.shape, 7, variable.dtype))
    state.on_epoch_end(0, {"loss": 0.5})
    return state


def test_state_round_trips_every_variable_including_the_seed_generator(tmp_path, keras_model):
    from coralbuild.models.training import TrainingState

    kept_state(tmp_path / "state.npz", keras_model())
    model = keras_model()
    assert TrainingState(tmp_path / "state.npz", "inputs-1", "last").restore(model) == 1
    assert any("seed_generator" in v.path for v in model.variables)
    assert all((np.asarray(v.numpy()) == 7).all() for v in model.variables)


@pytest.mark.parametrize("damage", [None, lambda content: b"not a numpy archive", lambda content: content[:5000]],
                         ids=["other inputs", "not an archive", "truncated"])
def test_state_for_other_inputs_or_unreadable_is_not_used(tmp_path, keras_model, damage, capsys):
    from coralbuild.models.training import TrainingState

    path = tmp_path / "state.npz"
    kept_state(path, keras_model())
    if damage is not None:
        path.write_bytes(damage(path.read_bytes()))
    model = keras_model()
    before = [v.numpy().copy() for v in model.variables]
    state = TrainingState(path, "inputs-2", "last")
    assert state.restore(model) == 0 and state.history == []
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.variables, strict=True))
    output = capsys.readouterr()
    assert f"{path}: kept training state" in output.out + output.err


def test_the_cosine_schedule_falls_from_the_learning_rate_to_zero_over_a_phase():
    from coralbuild.models.training import learning_rate

    schedule = learning_rate({**SETTINGS, "learning_rate": 0.01}, steps=100)
    assert [float(schedule(step)) for step in (0, 50, 100)] == pytest.approx([0.01, 0.005, 0.0], abs=1e-7)
    assert learning_rate({**SETTINGS, "learning_rate_schedule": "constant"}, 100) == SETTINGS["learning_rate"]
    # A phase of its own rate (fine-tuning) decays from that rate.
    assert float(learning_rate({**SETTINGS, "learning_rate": 0.01}, 100, rate=0.001)(0)) == pytest.approx(0.001)


def test_a_loss_that_is_not_finite_stops_the_training_naming_the_epoch(tmp_path):
    """A learning rate far too high trains to NaN: an error, not a model whose rows say measured."""
    from coralbuild.errors import BadInput
    from coralbuild.models.training import TrainingState

    state = TrainingState(tmp_path / "state.npz", "inputs-3", "last")
    with pytest.raises(BadInput, match=r"the training loss became nan in epoch 3 \(train phase\): lower train.learning_rate"):
        state.on_epoch_end(2, {"loss": float("nan"), "accuracy": 0.1})
    assert state.history == [] and not (tmp_path / "state.npz").exists()
