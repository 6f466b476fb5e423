"""A model you bring that cannot be used: one line naming the file (and what does not fit), a
non-zero exit, no output, and the brought file untouched."""

import hashlib
import json

import numpy as np
import pytest

from conftest import run_script, write_prepared

TRAIN = {"epochs": 1, "batch_size": 8, "learning_rate": 0.001, "seed": 0}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """16x16 RGB images in 3 classes."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, count in (("train", 12), ("val", 3), ("test", 3)):
        arrays[f"x_{split}"] = rng.integers(0, 256, (count, 16, 16, 3), dtype=np.uint8)
        arrays[f"y_{split}"] = np.arange(count) % 3
    return write_prepared(tmp_path_factory.mktemp("brought") / "data", arrays, classes=["a", "b", "c"])


def keras_model(path, input_shape=(16, 16, 3), classes=3, lambda_layer=False):
    import keras

    inputs = keras.Input(input_shape)
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs) if lambda_layer else inputs
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x)).save(path)
    return path


def without_config(path):
    """The .keras archive at `path` with its config.json left out."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist() if name != "config.json"}
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return path


def with_config(path, change):
    """The .keras archive at `path` with its config.json's text changed by `change`."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        entries = {entry: archive.read(entry) for entry in archive.namelist()}
    entries["config.json"] = change(entries["config.json"].decode()).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for entry, content in entries.items():
            archive.writestr(entry, content)
    return path


def last_layer_units(units):
    """A change of the config: the last Dense layer has `units` outputs."""
    def change(text):
        config = json.loads(text)
        config["config"]["layers"][-1]["config"]["units"] = units
        return json.dumps(config)
    return change


def deep_nesting(text):
    return text[:-1] + ', "nested": ' + "[" * 100_000 + "]" * 100_000 + "}"


def float_tflite(path):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def one_line_error(result):
    assert result.returncode == 1, result.stdout + result.stderr
    # TensorFlow's own start-up lines may come first; the error is the one last line.
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.stderr.strip().splitlines()[-1] == errors[0], result.stderr[-3000:]
    return errors[0]


def train_brought(data, source, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    result = run_script("train.py", "--data", data, "--threads", "1",
                        "--model-settings", json.dumps({"source": str(source), "input_range": [0, 1]}),
                        "--train-settings", json.dumps(TRAIN), "--model", out / "model.keras",
                        "--history", out / "history.csv", "--state", out / "state.npz")
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest, "the brought model was modified"
    assert list(out.iterdir()) == []
    return one_line_error(result)


@pytest.mark.parametrize("make, expected", [
    (lambda path: keras_model(path, input_shape=(28, 28, 1)),
     "the model takes input of shape (28, 28, 1), the dataset's images are (16, 16, 3)"),
    (lambda path: keras_model(path, classes=10), "the model has 10 outputs, the dataset has 3 classes"),
    (lambda path: keras_model(path, lambda_layer=True), "not a loadable Keras model or SavedModel"),
    (lambda path: path.write_bytes(b"not a zip") and path, "not a loadable Keras model or SavedModel"),
    (lambda path: without_config(keras_model(path)), "not a loadable Keras model or SavedModel (KeyError: "),
    (lambda path: with_config(keras_model(path), last_layer_units(10**9)),  # 3 x 10^9 weights and 10^9 biases
     "its config declares 4,000,000,000 parameters, more than an int8 .tflite model can hold (2,147,483,647)"),
    (lambda path: with_config(keras_model(path), deep_nesting), "not a loadable Keras model or SavedModel (RecursionError"),
], ids=["input shape", "class count", "lambda layer refused by safe mode", "not a model", "zip without config.json",
        "declared past the format", "config nested without end"])
def test_a_keras_model_that_cannot_be_used_is_one_line_naming_it(data, tmp_path, make, expected):
    source = make(tmp_path / "mine.keras")
    line = train_brought(data, source, tmp_path)
    assert str(source) in line and expected in line, line


def test_a_float_tflite_is_refused_saying_it_must_be_fully_int8(data, tmp_path):
    source = float_tflite(tmp_path / "given.tflite")
    result = run_script("import_int8.py", "--source", source, "--data", data,
                        "--output", tmp_path / "model_int8.tflite", "--labels", tmp_path / "labels.txt")
    line = one_line_error(result)
    assert str(source) in line and "must be fully int8" in line, line
    assert not (tmp_path / "model_int8.tflite").exists() and not (tmp_path / "labels.txt").exists()


def int16_tflite(path):
    """A 16x8-quantized model: integer throughout, int16 activations."""
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3)])
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([np.random.default_rng(i).random((1, 16, 16, 3), dtype=np.float32)]
                                                for i in range(8))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int16
    path.write_bytes(converter.convert())
    return path


def test_an_int16_activation_model_is_refused_naming_a_tensor(data, tmp_path):
    source = int16_tflite(tmp_path / "sixteen.tflite")
    out = tmp_path / "out"
    out.mkdir()
    result = run_script("import_int8.py", "--source", source, "--data", data,
                        "--output", out / "model_int8.tflite", "--labels", out / "labels.txt")
    line = one_line_error(result)
    assert line.startswith(f"error: {source}: tensor '") and "is int16: the Edge TPU takes int8 or uint8 activations" in line
    assert list(out.iterdir()) == []


def test_a_scalar_output_is_a_misfit_named_not_an_index_error():
    from coralbuild.measure.inference import output_fits

    class ScalarOutput:
        def get_output_details(self):
            return [{"shape": np.array([], dtype=np.int32)}]

    assert output_fits(ScalarOutput(), 3) == "the model's output is a single number, not one score per class"


@pytest.mark.parametrize("kind", ["float32", "int8"])
def test_a_model_with_an_op_the_converter_cannot_convert_is_one_line_naming_the_op(data, tmp_path, kind):
    """A brought model resizing with lanczos3 (TensorFlow's ScaleAndTranslate): the converter's
    own error is pages of MLIR locations."""
    import keras

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Resizing(8, 8, interpolation="lanczos3")(inputs))
    saved_model = tmp_path / "saved_model"
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x)).export(saved_model, verbose=False)
    result = run_script("convert_tflite.py", "--saved-model", saved_model, "--kind", kind, "--data", data,
                        "--output", tmp_path / "model.tflite")
    assert one_line_error(result) == (f"error: {saved_model}: the TFLite converter cannot convert this model (TensorFlow "
                                      "op ScaleAndTranslate has no TFLite builtin kernel, and the Edge TPU runs builtin "
                                      "ops only)")
    assert not (tmp_path / "model.tflite").exists()
