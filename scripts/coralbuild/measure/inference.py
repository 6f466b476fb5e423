"""Run .tflite models with the LiteRT interpreter (ai-edge-litert), or tflite_runtime where that
is what is installed (Coral's Python 3.9 stack for the Edge TPU)."""

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter, load_delegate
except ImportError:
    from tflite_runtime.interpreter import Interpreter, load_delegate

from coralbuild.errors import BadInput, first_line
from coralbuild.models.preprocessing import to_model_input


def load_interpreter(path, threads=1, delegates=None):
    try:
        interpreter = Interpreter(model_path=str(path), num_threads=threads, experimental_delegates=delegates)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        raise BadInput(f"{path}: the LiteRT interpreter cannot load it ({first_line(error)})") from None
    return interpreter


def model_inputs(interpreter, images):
    """Images (uint8, N x H x W) as batch-1 arrays in the type and quantization of the input."""
    detail = interpreter.get_input_details()[0]
    values = to_model_input(images)
    if detail["dtype"] != np.float32:
        scale, zero_point = detail["quantization"]
        info = np.iinfo(detail["dtype"])
        values = np.clip(np.round(values / scale + zero_point), info.min, info.max)
    return values.astype(detail["dtype"])[:, np.newaxis]


def predict_labels(interpreter, images):
    """Top-1 class of every image, one invoke per image (the models have a batch-1 input)."""
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    labels = np.empty(len(images), dtype=np.int64)
    for position, sample in enumerate(model_inputs(interpreter, images)):
        interpreter.set_tensor(input_index, sample)
        interpreter.invoke()
        # argmax is unchanged by the output's affine dequantization (positive scale).
        labels[position] = int(np.argmax(interpreter.get_tensor(output_index)[0]))
    return labels



def interpreter_version():
    """Name and version of the interpreter package in use."""
    from importlib.metadata import PackageNotFoundError, version

    for package in ("ai-edge-litert", "tflite-runtime"):
        try:
            return f"{package} {version(package)}"
        except PackageNotFoundError:
            continue
    return "unknown"
