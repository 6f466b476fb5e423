"""Models built from an architecture of the registry and trained here."""

from pathlib import Path

from coralbuild.errors import BadInput, ConfigError
from coralbuild.models.architectures import ARCHITECTURES, build_model

TRAINED = True


def matches(settings):
    return "architecture" in settings


def check_config(name, settings):
    if settings["architecture"] not in ARCHITECTURES:
        raise ConfigError(f"invalid config at models.{name}.architecture: unknown architecture "
                          f"{settings['architecture']!r} (known: {', '.join(sorted(ARCHITECTURES))})")
    _check_weights(name, settings)


def _check_weights(name, settings):
    """`weights` the architecture can load, and `fine_tune` only on pretrained weights."""
    weights = settings.get("weights")
    imagenet = ARCHITECTURES[settings["architecture"]].imagenet
    if weights is not None and imagenet is None:
        raise ConfigError(f"invalid config at models.{name}.weights: {settings['architecture']} has no pretrained weights")
    if weights == "imagenet" and imagenet.problem(settings):
        raise ConfigError(f"invalid config at models.{name}.weights: {imagenet.problem(settings)}")
    if weights not in (None, "imagenet") and not Path(weights).is_file():
        raise ConfigError(f"invalid config at models.{name}.weights: {weights} not found "
                          "(imagenet, null, or the path of a no-top weights file)")
    if "fine_tune" in settings and weights is None:
        raise ConfigError(f"invalid config at models.{name}.fine_tune: fine-tuning needs pretrained weights "
                          "(set weights: imagenet or a weights file)")


def weights_file(settings):
    """The weights file a model loads (an input of its training), or None."""
    weights = settings.get("weights")
    return None if weights in (None, "imagenet") else weights


def starting_model(name, settings, image_shape, num_classes, seed):
    """The model before training: built from its architecture, with its pretrained weights."""
    if settings.get("weights") == "imagenet":
        print(f"weights: Keras' ImageNet file for {settings['architecture']} ("
              f"{ARCHITECTURES[settings['architecture']].imagenet.sizes}), from Keras' cache or downloaded into it")
    try:
        return build_model(settings, image_shape, num_classes, seed)
    except BadInput as error:
        raise BadInput(f"models.{name}: {error}") from None


def input_range(settings):
    return tuple(ARCHITECTURES[settings["architecture"]].input_range)


def min_image_size(settings):
    return ARCHITECTURES[settings["architecture"]].min_image_size(settings)
