"""Where a model comes from: the registry of model sources.

    architecture   built from config (`architecture:`) and trained here
    keras          a model you bring as a .keras file or a SavedModel folder (`source:`),
                   fine-tuned for `train.epochs` (0: used as it is), then exported and converted
    int8_tflite    a fully int8 .tflite you bring (`source:`): no training or conversion

Each source is one module with:
    matches(settings)            does this model entry use the source?
    check_config(name, settings) planning time: a ConfigError naming the key, or nothing
    input_range(settings)        the float pixel range the model takes
    TRAINED                      True when the model has Keras, SavedModel and float32 stages
    starting_model(name, settings, image_shape, num_classes, seed)
                                 TRAINED sources, in the training job: the model before training
and its block in config/schema.yaml. Planning-time code only: no TensorFlow at import.
"""

from coralbuild.errors import ConfigError
from coralbuild.models.sources import architecture, int8_tflite, keras_model

SOURCES = {"architecture": architecture, "keras": keras_model, "int8_tflite": int8_tflite}


def model_source(name, settings):
    """The source module of the model entry `settings` (named `name` in messages)."""
    if ("architecture" in settings) == ("source" in settings):
        raise ConfigError(f"invalid config at models.{name}: give exactly one of 'architecture' or 'source'")
    for source in SOURCES.values():
        if source.matches(settings):
            return source
    raise ConfigError(f"invalid config at models.{name}.source: {settings['source']} is not a .keras file, "
                      "a SavedModel folder or a .tflite file")
