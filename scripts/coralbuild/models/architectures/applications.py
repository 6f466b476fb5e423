"""MobileNet-class networks from keras.applications, without their top, under one configurable
head: global average pooling, dropout, dense softmax.

Settings (all optional): `alpha` (width multiplier, MobileNets), `minimalistic` (MobileNetV3:
ReLU and 3x3 kernels instead of hard-swish, 5x5 kernels and squeeze-excite), `dropout` (the
head's rate), `bn_momentum` (every BatchNormalization layer's momentum, from scratch), `weights`
and `fine_tune` (pretrained backbones; coralbuild.models.training runs the phases).

`weights`: null trains from scratch; `imagenet` goes through keras.applications' own loading,
which looks in Keras' cache ($KERAS_HOME/models, default ~/.keras/models) before it downloads;
a path loads a no-top weights file (Keras' .h5 or .weights.h5) at any input size. A pretrained
backbone's BatchNormalization layers run in inference mode for the whole training, frozen or
not: their moving statistics are ImageNet's, and a few thousand photos in small batches would
only wreck them (Keras' transfer-learning guide).
"""

import os
import re
from pathlib import Path

from coralbuild.errors import BadInput
from coralbuild.models.architectures.base import Architecture, ImageNetWeights
from coralbuild.models.private_api import fresh_layer_names

DEFAULTS = {"alpha": 1.0, "minimalistic": False, "dropout": 0.2, "bn_momentum": 0.9, "weights": None}
# keras.applications rejects a smaller height or width for every network below (input_shape is
# passed beside input_tensor so that its check runs; the tests hold it to this number).
KERAS_MIN_IMAGE_SIZE = 32
# The layers of the head; every other layer after the input belongs to the backbone.
HEAD_LAYERS = ("head_pool", "head_dropout", "classifier")
# What keras.utils.get_file raises, as a bare Exception, when a download fails.
FETCH_FAILURE = re.compile(r"URL fetch failure on (\S+?):? ")


def setting(settings, name):
    """The setting `name`, or its default."""
    return settings.get(name, DEFAULTS[name])


def is_pretrained(settings):
    return setting(settings, "weights") is not None


def weights_argument(settings):
    """keras.applications' `weights`: None, "imagenet", or the file's absolute path."""
    weights = setting(settings, "weights")
    return weights if weights in (None, "imagenet") else os.path.abspath(weights)


def mobilenet_v2(applications, settings, image):
    """A MobileNetV2 backbone; it has no rescaling inside and expects [-1, 1]."""
    return applications.MobileNetV2(
        input_tensor=image, input_shape=image.shape[1:], alpha=setting(settings, "alpha"),
        include_top=False, weights=weights_argument(settings))


def mobilenet_v3(network):
    """A MobileNetV3 backbone; without its built-in Rescaling it expects [-1, 1] like V2."""
    def backbone(applications, settings, image):
        return getattr(applications, network)(
            input_tensor=image, input_shape=image.shape[1:], alpha=setting(settings, "alpha"),
            minimalistic=setting(settings, "minimalistic"), include_top=False, weights=weights_argument(settings),
            include_preprocessing=False)
    return backbone


def efficientnet_b0(applications, settings, image):
    """EfficientNetB0 rescales by 1/255 itself. From scratch its Normalization layer, never
    adapted, keeps mean 0 and variance 1 and passes values through; with ImageNet weights it
    holds ImageNet's mean and variance. Either way the network takes [0, 255]."""
    return applications.EfficientNetB0(
        input_tensor=image, input_shape=image.shape[1:], include_top=False, weights=weights_argument(settings))


MOBILENET_V2_IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)


def mobilenet_v2_imagenet_problem(settings):
    alpha = setting(settings, "alpha")
    if alpha not in MOBILENET_V2_IMAGENET_ALPHAS:
        *others, last = MOBILENET_V2_IMAGENET_ALPHAS
        return f"Keras has ImageNet weights for mobilenet_v2 at alpha {', '.join(map(str, others))} and {last}, not {alpha}"
    return None


def mobilenet_v3_imagenet_problem(settings):
    alpha, minimalistic = setting(settings, "alpha"), setting(settings, "minimalistic")
    allowed = (1.0,) if minimalistic else (0.75, 1.0)
    if alpha not in allowed:
        kind = "minimalistic MobileNetV3" if minimalistic else "MobileNetV3"
        return f"Keras has ImageNet weights for {kind} at alpha {' and '.join(map(str, allowed))}, not {alpha}"
    return None


def set_bn_momentum(model, momentum):
    """keras.applications builds BatchNormalization with momentum 0.999, made for fine-tuning:
    trained from scratch for a few epochs, its moving statistics stay near their initial values
    and inference is at chance. The attribute set here is what the layer uses and saves."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def backbone_layers(model):
    """The backbone's layers in order: every layer but the input and the head."""
    import keras

    return [layer for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer) and layer.name not in HEAD_LAYERS]


def check_unfreeze(model, settings):
    """`fine_tune.unfreeze` no larger than the backbone, else BadInput naming both."""
    unfreeze = settings.get("fine_tune", {}).get("unfreeze", "all")
    layers = len(backbone_layers(model))
    if unfreeze != "all" and unfreeze > layers:
        raise BadInput(f"fine_tune.unfreeze is {unfreeze}, but the {model.name} backbone has {layers} layers "
                       f"(give at most {layers}, or \"all\")")


def set_trainable_backbone(model, unfreeze):
    """Let the last `unfreeze` backbone layers train ("all": every one, 0: none) and freeze the
    others; the head always trains. BatchNormalization layers stay frozen, which keeps them in
    inference mode (Keras runs a non-trainable BatchNormalization layer with its moving
    statistics)."""
    import keras

    layers = backbone_layers(model)
    count = len(layers) if unfreeze == "all" else unfreeze
    for index, layer in enumerate(layers):
        trainable = index >= len(layers) - count
        layer.trainable = trainable and not isinstance(layer, keras.layers.BatchNormalization)


def classifier_head(features, settings, num_classes, seed):
    """Global average pooling, dropout (seeded, so that its seed is in the saved config), softmax."""
    from keras import layers

    x = layers.GlobalAveragePooling2D(name="head_pool")(features)
    x = layers.Dropout(setting(settings, "dropout"), seed=seed, name="head_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name="classifier")(x)


def keras_cache_folder():
    """Where keras.utils.get_file keeps downloaded weights: $KERAS_HOME/models, or ~/.keras/models."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def imagenet_unavailable(name, settings, image_shape, error):
    """The one line for ImageNet weights that are neither in Keras' cache nor downloadable."""
    match = FETCH_FAILURE.search(str(error))
    url = match.group(1) if match else "(see the train log)"
    wanted = url.rsplit("/", 1)[-1]
    cache = keras_cache_folder()
    # Other cached no-top files of the same network: a file for another input size loads as a path.
    family = re.sub(r"_\d+_no_top", "_*_no_top", wanted)
    others = sorted(path.name for path in cache.glob(family) if path.name != wanted) if "*" in family else []
    alternative = f" (in the cache: {cache / others[0]})" if others else ""
    return (f"ImageNet weights for {name} at {image_shape[0]}x{image_shape[1]}: {wanted} is not in Keras' cache and "
            f"could not be downloaded ({str(error).splitlines()[0].split(': ', 1)[-1]}); put it in {cache}/ "
            f"(from {url}), or set the model's weights to the path of a no-top weights file{alternative}")


def build_backbone(name, backbone, settings, image):
    """The backbone with its weights loaded; a weights problem is one line of BadInput."""
    import keras

    try:
        return backbone(keras.applications, settings, image)
    except ValueError as error:
        if setting(settings, "weights") in (None, "imagenet"):
            raise
        width = f" (alpha {setting(settings, 'alpha')})" if name.startswith("mobilenet") else ""
        raise BadInput(f"{settings['weights']}: not a no-top weights file of {name}{width}: "
                       f"{str(error).splitlines()[0]}") from None
    except Exception as error:  # keras.utils.get_file raises a bare Exception when it cannot download
        if not FETCH_FAILURE.search(str(error)):
            raise
        raise BadInput(imagenet_unavailable(name, settings, image.shape[1:], error)) from None


def application_builder(name, backbone):
    """build(settings, input_shape, num_classes, seed) for a keras.applications backbone."""
    def build(settings, input_shape, num_classes, seed):
        import keras

        with fresh_layer_names():
            image = keras.Input(shape=input_shape, name="image")
            features = build_backbone(name, backbone, settings, image)
            if not is_pretrained(settings):
                set_bn_momentum(features, setting(settings, "bn_momentum"))
            model = keras.Model(image, classifier_head(features.output, settings, num_classes, seed), name=name)
        if is_pretrained(settings):
            check_unfreeze(model, settings)
            set_trainable_backbone(model, "all")  # BatchNormalization in inference mode from the start
        return model
    return build


def application(name, backbone, input_range, description, imagenet):
    """The registry entry of a keras.applications backbone under the common head."""
    return Architecture(
        build=application_builder(name, backbone),
        input_range=input_range,
        min_image_size=lambda settings: KERAS_MIN_IMAGE_SIZE,
        description=description,
        imagenet=imagenet,
    )


ONE_FILE_AT_224 = "one file, trained at 224x224, loaded at any input size (no-top weights do not depend on it)"
ARCHITECTURES = {
    "mobilenet_v2": application(
        "mobilenet_v2", mobilenet_v2, (-1.0, 1.0), "MobileNetV2 (setting alpha)",
        ImageNetWeights(mobilenet_v2_imagenet_problem,
                        "a file per square size 96, 128, 160, 192 and 224; any other size loads the 224x224 file")),
    "mobilenet_v3_small": application(
        "mobilenet_v3_small", mobilenet_v3("MobileNetV3Small"), (-1.0, 1.0),
        "MobileNetV3-Small (settings alpha, minimalistic)", ImageNetWeights(mobilenet_v3_imagenet_problem, ONE_FILE_AT_224)),
    "mobilenet_v3_large": application(
        "mobilenet_v3_large", mobilenet_v3("MobileNetV3Large"), (-1.0, 1.0),
        "MobileNetV3-Large (settings alpha, minimalistic)", ImageNetWeights(mobilenet_v3_imagenet_problem, ONE_FILE_AT_224)),
    "efficientnet_b0": application(
        "efficientnet_b0", efficientnet_b0, (0.0, 255.0), "EfficientNetB0, rescaling its input itself",
        ImageNetWeights(lambda settings: None, ONE_FILE_AT_224)),
}
