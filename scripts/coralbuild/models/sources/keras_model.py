"""A Keras model you bring: a .keras file or a SavedModel folder.

It is loaded read-only (a .keras file in Keras' safe mode, so no code stored in it runs),
fine-tuned for the model's `train.epochs` (0 keeps its weights) and then goes through export,
conversion and everything after like a model built here. Its output must be class
probabilities (a softmax), one per class of the dataset.
"""

import json
import math
import zipfile
from pathlib import Path

from coralbuild.errors import BadInput, ConfigError
from coralbuild.inputs import MODEL_BYTES
from coralbuild.models.input_range import UNIT_RANGE
from coralbuild.models.private_api import variables_without_memory

TRAINED = True
# A .keras file's config.json: a few MB for the largest Keras application (its layers, not weights).
CONFIG_BYTES = 64 * 2**20


def matches(settings):
    source = Path(settings.get("source", ""))
    return source.suffix == ".keras" or (source / "saved_model.pb").is_file()


def check_config(name, settings):
    source = Path(settings["source"])
    if not source.exists():
        raise ConfigError(f"invalid config at models.{name}.source: {source} not found")


def input_range(settings):
    return tuple(settings.get("input_range", UNIT_RANGE))


def min_image_size(settings):
    return 1  # the model's own input shape decides; checked against the dataset when it loads


def starting_model(name, settings, image_shape, num_classes, seed):
    """The model you brought, checked against the dataset's images and classes."""
    model = load(settings["source"])
    check_fits(model, settings["source"], image_shape, num_classes)
    return model


def load(path):
    """The model at `path` as a Keras model: a .keras file in safe mode, or a SavedModel's
    serving signature wrapped in a Keras layer (its variables trainable)."""
    import keras
    import tensorflow as tf

    path = Path(path)
    try:
        if path.suffix == ".keras":
            _check_declared_parameters(path)
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default", trainable=True)
        shape = _saved_model_input_shape(path)
        inputs = keras.Input(shape=shape[1:], batch_size=None, name="image")
        outputs = layer(inputs)
        if isinstance(outputs, dict):
            (outputs,) = outputs.values()
        return keras.Model(inputs, outputs, name=path.name)
    # A .keras is a zip: one without config.json is a KeyError, one that is no zip a BadZipFile; a
    # model within the declared bound can still exhaust this machine's memory while it is built.
    except (ValueError, OSError, TypeError, KeyError, RecursionError, zipfile.BadZipFile) as error:
        raise BadInput(f"{path}: not a loadable Keras model or SavedModel ({type(error).__name__}: "
                       f"{(str(error).splitlines() or [''])[0]})") from None
    except (MemoryError, tf.errors.ResourceExhaustedError):
        raise BadInput(f"{path}: building the model ran out of memory (a layer far larger than an Edge TPU model)") from None


def _check_declared_parameters(path):
    """BadInput when the .keras file's config declares more parameters than an int8 .tflite can
    hold (one byte each, in at most MODEL_BYTES). Counted before anything is allocated: Keras builds
    every layer, initialising its weights, before it reads the stored ones, so a 17 MB file declaring
    a layer of 2,000,000,000 filters used 8.4 GB before its error."""
    import keras

    with zipfile.ZipFile(path) as archive:
        size = archive.getinfo("config.json").file_size
        if size > CONFIG_BYTES:  # a zip bomb would be decompressed whole by the read below
            raise BadInput(f"{path}: its config.json unpacks to {size:,} bytes; a model's config is far smaller "
                           f"(at most {CONFIG_BYTES:,} read)")
        config = json.loads(archive.read("config.json"))
    with variables_without_memory():
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
        parameters = sum(math.prod(weight.shape) for weight in model.weights)
    if parameters > MODEL_BYTES:
        raise BadInput(f"{path}: its config declares {parameters:,} parameters, more than an int8 .tflite model can "
                       f"hold ({MODEL_BYTES:,}); an Edge TPU model is far smaller")


def _saved_model_input_shape(path):
    import tensorflow as tf

    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    (spec,) = signature.structured_input_signature[1].values()
    return tuple(spec.shape)


def check_fits(model, path, image_shape, num_classes):
    """A one-line BadInput when the model's input or output does not fit the dataset."""
    input_shape = tuple(model.input_shape[1:])
    if input_shape != tuple(image_shape):
        raise BadInput(f"{path}: the model takes input of shape {input_shape}, the dataset's images are "
                       f"{tuple(image_shape)} (set the dataset's image_size and color to match)")
    outputs = model.output_shape[-1]
    if outputs != num_classes:
        raise BadInput(f"{path}: the model has {outputs} outputs, the dataset has {num_classes} classes")
