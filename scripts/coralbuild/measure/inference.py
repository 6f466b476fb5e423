"""Run .tflite models with the LiteRT interpreter (ai-edge-litert), or tflite_runtime where that
is what is installed (Coral's Python 3.9 stack for the Edge TPU)."""

from pathlib import Path

import numpy as np

# load_delegate is for runtimes/edgetpu.py, which opens models through this module's interpreter.
try:
    from ai_edge_litert.interpreter import Interpreter, load_delegate  # noqa: F401
except ImportError:
    from tflite_runtime.interpreter import Interpreter, load_delegate  # noqa: F401

from coralbuild.errors import BadInput, first_line
from coralbuild.inputs import MODEL_BYTES, regular_file
from coralbuild.measure.classification import ranked_classes
from coralbuild.models.preprocessing import to_model_input, to_quantized_input


def load_interpreter(path, threads=1, delegates=None):
    regular_file(path, MODEL_BYTES, ".tflite model")
    try:
        interpreter = Interpreter(model_path=str(path), num_threads=threads, experimental_delegates=delegates)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        raise BadInput(f"{path}: the LiteRT interpreter cannot load it ({first_line(error)})") from None
    return interpreter


def check_loads_in_child(path, timeout_s=300):
    """Load a model someone brought in a child process first: bytes corrupt in a way the reader
    does not see can crash the native interpreter (SIGSEGV), which here is one line naming the file."""
    import os
    import signal
    import subprocess
    import sys

    scripts = str(Path(__file__).resolve().parents[2])
    code = ("import sys\nfrom coralbuild.errors import BadInput\nfrom coralbuild.measure.inference import load_interpreter\n"
            "try:\n    load_interpreter(sys.argv[1])\nexcept BadInput as error:\n    sys.exit(f'error: {error}')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [scripts, os.environ.get("PYTHONPATH")]))}
    try:
        child = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env,
                               timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise BadInput(f"{path}: the LiteRT interpreter did not load it within {timeout_s} s") from None
    if child.returncode < 0:
        raise BadInput(f"{path}: corrupt TFLite model: the LiteRT interpreter crashed loading it "
                       f"(signal {signal.Signals(-child.returncode).name})")
    if child.returncode != 0:
        errors = [line for line in child.stderr.splitlines() if line.startswith("error: ")]
        raise BadInput(errors[-1][len("error: "):] if errors else f"{path}: the LiteRT interpreter cannot load it")


INTEGER_TYPES = ("int8", "uint8", "int16", "int32", "int64", "bool")


def check_fully_integer(path, allowed=()):
    """BadInput naming the first float tensor unless every tensor of the model is an integer
    (what the Edge TPU compiler needs of a model made elsewhere), but the `allowed` tensor indices."""
    for tensor in load_interpreter(path).get_tensor_details():
        if np.dtype(tensor["dtype"]).name not in INTEGER_TYPES and tensor["index"] not in allowed:
            raise BadInput(f"{path}: the model must be fully int8 for the Edge TPU, but tensor "
                           f"'{tensor['name']}' is {np.dtype(tensor['dtype']).name}")


def input_fits(interpreter, image_shape):
    """None when the model takes images of `image_shape` (H, W, C), else why not."""
    inputs = interpreter.get_input_details()
    if len(inputs) != 1:
        return f"the model takes {len(inputs)} inputs, and a dataset's test images feed one"
    shape = tuple(int(n) for n in inputs[0]["shape"])
    if shape[1:] != tuple(image_shape):
        return f"the model takes input of shape {shape}, the dataset's images are {tuple(image_shape)}"
    return None


def output_fits(interpreter, num_classes):
    """None when the model gives one score per class, else why not."""
    shape = interpreter.get_output_details()[0]["shape"]
    if len(shape) == 0:
        return "the model's output is a single number, not one score per class"
    outputs = int(shape[-1])
    if outputs != num_classes:
        return f"the model has {outputs} outputs, the dataset has {num_classes} classes"
    return None


def model_input(detail, image, input_range):
    """One uint8 image (H, W, C) as the batch-1 input the model takes: raw pixels for a quantized
    input (its quantization holds the scaling), pixels scaled into `input_range` for a float one."""
    if detail["dtype"] == np.float32:
        return to_model_input(image[np.newaxis], input_range)
    return to_quantized_input(image[np.newaxis], detail["dtype"])


def model_inputs(interpreter, images, input_range):
    """Each image as the model's input, made one at a time (the images may be read from their file as asked for)."""
    detail = interpreter.get_input_details()[0]
    return (model_input(detail, image, input_range) for image in images)


def predict_ranked(interpreter, images, input_range, k):
    """The `k` best classes of every image, best first (ranked_classes), one invoke per image (the
    models have a batch-1 input)."""
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    ranked = np.empty((len(images), k), dtype=np.int64)
    for position, sample in enumerate(model_inputs(interpreter, images, input_range)):
        interpreter.set_tensor(input_index, sample)
        interpreter.invoke()
        ranked[position] = ranked_classes(interpreter.get_tensor(output_index)[0], k)
    return ranked


def predict_labels(interpreter, images, input_range):
    """Top-1 class of every image."""
    return predict_ranked(interpreter, images, input_range, 1)[:, 0]


def interpreter_version():
    """Name and version of the interpreter package in use."""
    from importlib.metadata import PackageNotFoundError, version

    for package in ("ai-edge-litert", "tflite-runtime"):
        try:
            return f"{package} {version(package)}"
        except PackageNotFoundError:
            continue
    return "unknown"
