"""A fully int8 .tflite you bring: predicted, compiled, evaluated and benchmarked as it is.

It has no Keras, SavedModel or float32 stage; its int8 model is a byte copy of the file.
"""

from pathlib import Path

from coralbuild.errors import BadInput, ConfigError

TRAINED = False
INTEGER_TYPES = ("int8", "uint8", "int16", "int32", "int64", "bool")


def matches(settings):
    return Path(settings.get("source", "")).suffix == ".tflite"


def check_config(name, settings):
    source = Path(settings["source"])
    if not source.is_file():
        raise ConfigError(f"invalid config at models.{name}.source: {source} not found")
    if "train" in settings:
        raise ConfigError(f"invalid config at models.{name}.train: an int8 .tflite is not trained")


def input_range(settings):
    return tuple(settings.get("input_range", (0.0, 1.0)))


def min_image_size(settings):
    return 1


def check_fully_int8(path):
    """BadInput naming the first float tensor unless every tensor of the model is an integer."""
    import numpy as np

    from coralbuild.measure.inference import load_interpreter

    interpreter = load_interpreter(path)
    for tensor in interpreter.get_tensor_details():
        if np.dtype(tensor["dtype"]).name not in INTEGER_TYPES:
            raise BadInput(f"{path}: the model must be fully int8 for the Edge TPU, but tensor "
                           f"'{tensor['name']}' is {np.dtype(tensor['dtype']).name}")
    return interpreter
