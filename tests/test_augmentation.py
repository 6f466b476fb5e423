"""Augmentation lives in the input pipeline: seeded, stateless, and never in the exported model."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import SCRIPTS, environment, write_prepared

tf = pytest.importorskip("tensorflow")
from coralbuild.models.augmentation import augment  # noqa: E402
from coralbuild.models.training import make_training_dataset  # noqa: E402


def images(count=4, size=9):
    rng = np.random.default_rng(0)
    return tf.constant(rng.random((count, size, size, 3), dtype=np.float32))


def seed(step):
    return tf.constant([7, step], tf.int64)


def test_the_same_seed_gives_the_same_batch_and_another_seed_another():
    settings = {"horizontal_flip": True, "max_shift": 0.1, "max_rotation": 15}
    batch = images()
    first, again, other = (augment(batch, seed(step), settings).numpy() for step in (0, 0, 1))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.shape == batch.shape


def test_nothing_set_changes_nothing_and_a_flip_mirrors():
    batch = images()
    assert np.array_equal(augment(batch, seed(0), {}).numpy(), batch.numpy())
    flipped = augment(batch, seed(3), {"horizontal_flip": True}).numpy()
    for original, result in zip(batch.numpy(), flipped, strict=True):
        assert np.array_equal(result, original) or np.array_equal(result, original[:, ::-1])
    assert not np.array_equal(flipped, batch.numpy())  # with 4 images, some are flipped for this seed


def test_a_rotation_by_zero_and_a_shift_by_zero_are_the_identity_and_a_shift_moves_pixels():
    batch = images(count=2, size=11)
    unchanged = augment(batch, seed(0), {"max_shift": 0.0, "max_rotation": 0.0}).numpy()
    assert np.array_equal(unchanged, batch.numpy())
    moved = augment(batch, seed(0), {"max_shift": 0.3}).numpy()
    assert not np.allclose(moved, batch.numpy())


def test_training_batches_depend_on_seed_epoch_and_step_only():
    """The batches of epoch 1 are the same whether the pipeline starts at epoch 0 or 1 (resume)."""
    pixels = np.random.default_rng(1).integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(20) % 3
    settings = {"seed": 3, "batch_size": 8, "epochs": 2,
                "augment": {"horizontal_flip": True, "max_shift": 0.2, "max_rotation": 10}}
    whole = [x.numpy() for x, _ in make_training_dataset(pixels, labels, settings, 0, (0.0, 1.0))]
    resumed = [x.numpy() for x, _ in make_training_dataset(pixels, labels, settings, 1, (0.0, 1.0))]
    assert len(whole) == 6 and len(resumed) == 3
    assert all(np.array_equal(a, b) for a, b in zip(whole[3:], resumed, strict=True))
    plain = [x.numpy() for x, _ in make_training_dataset(pixels, labels, {**settings, "augment": {}}, 0, (0.0, 1.0))]
    assert not all(np.array_equal(a, b) for a, b in zip(whole, plain, strict=True))


def test_a_model_trained_with_augmentation_exports_without_random_ops(tmp_path):
    """Trains a tiny CNN with augmentation through train.py, exports it, and looks for random
    ops in the SavedModel graph and for Flex ops in the int8 conversion."""
    from coralbuild.models.conversion import convert_int8
    from coralbuild.models.export import export_saved_model

    rng = np.random.default_rng(2)
    arrays = {f"x_{split}": rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8) for split, n in
              (("train", 24), ("val", 6), ("test", 6))}
    arrays.update({f"y_{split}": np.arange(len(arrays[f"x_{split}"])) % 2 for split in ("train", "val", "test")})
    data = write_prepared(tmp_path / "data", arrays)
    model = {"architecture": "cnn", "conv_filters": [4], "kernel_size": 3, "dense_units": []}
    train = {"epochs": 1, "batch_size": 8, "learning_rate": 0.001, "seed": 0,
             "augment": {"horizontal_flip": True, "max_shift": 0.1, "max_rotation": 10}}
    result = subprocess.run([sys.executable, str(SCRIPTS / "train.py"), "--data", str(data),
                             "--model-settings", json.dumps(model), "--train-settings", json.dumps(train),
                             "--model", str(tmp_path / "model.keras"), "--history", str(tmp_path / "history.csv"),
                             "--state", str(tmp_path / "state.npz")], capture_output=True, text=True, env=environment())
    assert result.returncode == 0, result.stderr[-2000:]
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        layers = [layer["class_name"] for layer in json.loads(archive.read("config.json"))["config"]["layers"]]
    assert layers and not [name for name in layers if name.startswith("Random")]
    export_saved_model(tmp_path / "model.keras", tmp_path / "saved_model")
    graph = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["serving_default"].graph.as_graph_def()
    op_types = {node.op for node in graph.node} | {node.op for function in graph.library.function
                                                   for node in function.node_def}
    assert not {op for op in op_types if "Random" in op or "ImageProjectiveTransform" in op}
    int8 = convert_int8(tmp_path / "saved_model", arrays["x_train"][:8], (0.0, 1.0))
    from coralbuild.edgetpu.tflite_model import read_tflite

    (tmp_path / "model_int8.tflite").write_bytes(int8)
    assert not [name for name in read_tflite(tmp_path / "model_int8.tflite").op_names() if "Flex" in name]
