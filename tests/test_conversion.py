"""The converter's output is what the Edge TPU compiler needs: checked by parsing the .tflite."""

import numpy as np
import pytest
import yaml

from conftest import MNIST, PROJECT
from coralbuild.data.idx_reader import read_idx
from coralbuild.edgetpu.tflite_model import read_tflite

MODELS = yaml.safe_load((PROJECT / "config" / "config.yaml").read_text())["models"]
EDGETPU_BREAKERS = {"SHAPE", "STRIDED_SLICE", "PACK"}
INT32_PARAMETERS = {("CONV_2D", 2), ("DEPTHWISE_CONV_2D", 2), ("FULLY_CONNECTED", 2), ("RESHAPE", 1)}


@pytest.fixture(scope="module")
def mnist_sample():
    images = read_idx(MNIST / "train-images-idx3-ubyte.gz", 3)[:1200, :, :, np.newaxis]
    labels = read_idx(MNIST / "train-labels-idx1-ubyte.gz", 1)[:1200]
    return images, labels


@pytest.fixture(scope="module", params=sorted(MODELS))
def converted(request, tmp_path_factory, mnist_sample):
    """A briefly trained model of each configured architecture, exported and converted."""
    import keras

    from coralbuild.models.architectures import build_model
    from coralbuild.models.conversion import convert_float32, convert_int8
    from coralbuild.models.export import export_saved_model
    from coralbuild.models.preprocessing import to_model_input

    folder = tmp_path_factory.mktemp(request.param)
    images, labels = mnist_sample
    keras.utils.set_random_seed(0)
    model = build_model(MODELS[request.param], (28, 28, 1), 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(to_model_input(images[:1000]), labels[:1000], epochs=2, verbose=0)
    model.save(folder / "model.keras")
    export_saved_model(folder / "model.keras", folder / "saved_model")
    paths = {"keras": folder / "model.keras"}
    for name, content in {
        "float32": convert_float32(folder / "saved_model"),
        "uint8": convert_int8(folder / "saved_model", images[:100], (0.0, 1.0), "uint8"),
        "int8": convert_int8(folder / "saved_model", images[:100], (0.0, 1.0), "int8"),
        "per_channel": convert_int8(folder / "saved_model", images[:100], (0.0, 1.0), "uint8", "per_channel"),
        "conv_per_tensor": convert_int8(folder / "saved_model", images[:100], (0.0, 1.0), "uint8", "per_tensor",
                                        "per_tensor"),
    }.items():
        paths[name] = folder / f"{name}.tflite"
        paths[name].write_bytes(content)
    keras_labels = np.argmax(model.predict(to_model_input(images[1000:]), verbose=0), axis=1)
    return request.param, paths, keras_labels


@pytest.mark.parametrize("kind", ["uint8", "int8"])
def test_quantized_io_type_and_static_shapes(converted, kind):
    _, paths, _ = converted
    model = read_tflite(paths[kind])
    expected = kind.upper()
    assert [model.tensors[i].dtype for i in model.inputs + model.outputs] == [expected, expected]
    assert model.tensors[model.inputs[0]].shape_signature == (1, 28, 28, 1)
    assert all(-1 not in tensor.shape_signature for tensor in model.tensors)


def test_fully_integer_without_ops_the_edge_tpu_cannot_run(converted):
    name, paths, _ = converted
    model = read_tflite(paths["uint8"])
    assert not EDGETPU_BREAKERS & set(model.op_names())
    middle = model.op_names()[1:-1]
    if name == "cnn":
        assert middle == ["CONV_2D", "MAX_POOL_2D", "CONV_2D", "MAX_POOL_2D", "RESHAPE",
                          "FULLY_CONNECTED", "FULLY_CONNECTED", "SOFTMAX"]
    assert model.op_names()[0] == model.op_names()[-1] == "QUANTIZE"
    int32_allowed = {op.inputs[position] for op in model.operators for kind, position in INT32_PARAMETERS
                     if op.name == kind and len(op.inputs) > position}
    for index, tensor in enumerate(model.tensors):
        if tensor.dtype == "INT32":
            assert index in int32_allowed, f"{tensor.name} is INT32 but is not a bias or shape parameter"
        else:
            assert tensor.dtype in {"INT8", "UINT8"}, f"{tensor.name} is {tensor.dtype}"


def test_dense_weight_granularity_follows_the_setting(converted):
    """Also the check that the installed TensorFlow still honours the private converter flag
    behind quantize.dense_weights: per_tensor must give one scale, per_channel one per unit."""
    _, paths, _ = converted
    for kind, per_unit in (("uint8", False), ("per_channel", True)):
        model = read_tflite(paths[kind])
        dense = [op for op in model.operators if op.name == "FULLY_CONNECTED"]
        assert dense
        scales = [model.tensors[op.inputs[1]].quantization_scales for op in dense]
        units = [model.tensors[op.inputs[1]].shape[0] for op in dense]
        assert scales == (units if per_unit else [1] * len(dense))


def test_uint8_input_takes_raw_pixels_and_predictions_agree(converted):
    from coralbuild.measure.inference import load_interpreter, predict_labels

    _, paths, keras_labels = converted
    interpreter = load_interpreter(paths["uint8"])
    scale, zero_point = interpreter.get_input_details()[0]["quantization"]
    assert zero_point == 0 and scale == pytest.approx(1 / 255, rel=1e-3)
    images = read_idx(MNIST / "train-images-idx3-ubyte.gz", 3)[1000:1200, :, :, np.newaxis]
    assert np.mean(predict_labels(load_interpreter(paths["float32"]), images, (0.0, 1.0)) == keras_labels) >= 0.99
    # A weightless conversion (the tf.saved_model.save trap) would sit near chance level.
    assert np.mean(predict_labels(interpreter, images, (0.0, 1.0)) == keras_labels) >= 0.9


def test_conv_weight_granularity_follows_the_setting(converted):
    """Also the check that the installed TensorFlow still honours the private converter flag
    behind quantize.conv_weights: per_channel gives a scale per output channel, per_tensor one."""
    name, paths, _ = converted
    for kind, per_channel in (("uint8", True), ("conv_per_tensor", False)):
        model = read_tflite(paths[kind])
        convolutions = [op for op in model.operators if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D")]
        if name == "mlp":  # no convolution for the setting to act on
            assert not convolutions
            continue
        assert convolutions
        scales = [model.tensors[op.inputs[1]].quantization_scales for op in convolutions]
        channels = [model.tensors[op.inputs[1]].shape[0 if op.name == "CONV_2D" else 3] for op in convolutions]
        assert scales == (channels if per_channel else [1] * len(convolutions))
