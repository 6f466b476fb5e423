"""A fully int8 .tflite you bring: predicted, compiled, evaluated and benchmarked as it is.

It has no Keras, SavedModel or float32 stage; its int8 model is a byte copy of the file.
"""

from pathlib import Path

from coralbuild.errors import ConfigError
from coralbuild.models.input_range import UNIT_RANGE

TRAINED = False


def matches(settings):
    return Path(settings.get("source", "")).suffix == ".tflite"


def check_config(name, settings):
    source = Path(settings["source"])
    if not source.is_file():
        raise ConfigError(f"invalid config at models.{name}.source: {source} not found")
    if "train" in settings:
        raise ConfigError(f"invalid config at models.{name}.train: an int8 .tflite is not trained")


def input_range(settings):
    return tuple(settings.get("input_range", UNIT_RANGE))


def min_image_size(settings):
    return 1
